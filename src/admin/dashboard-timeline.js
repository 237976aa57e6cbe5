// The failover timeline of one pool (GET /timeline): a band per node (up, down, ejected,
// draining), the active node of hot-standby pools with its epochs, every event as a marker that
// opens its details, and the outages with the time it took to detect them. Redrawn every second
// in place (reconcile), so a marker never changes under the pointer.
import { clock, duration, el, reconcile, setAttr, setText } from './dashboard-util.js';

const STATES = ['up', 'ejected', 'down', 'draining', 'unknown'];
/** Events closer than this on the bar share one marker (its details list them all). */
const MARKER_PX = 12;

/** Time axis ticks: about six, on round seconds or minutes. */
function ticks(from, to) {
  const step = [5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000].find((s) => (to - from) / s <= 7) ?? 600_000;
  const out = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) out.push(t);
  return out;
}

function describeEvent(event) {
  const change = event.from !== undefined || event.to !== undefined ? `${event.from ?? '?'} → ${event.to ?? '?'}` : '';
  return [event.type, event.node, change, event.epoch !== undefined ? `(epoch ${event.epoch})` : '']
    .filter(Boolean)
    .join(' ');
}

/** Events sorted by time, in groups whose first and last are less than `gap` ms apart. */
function groupEvents(events, gap) {
  const groups = [];
  for (const event of [...events].sort((a, b) => a.time - b.time || a.seq - b.seq)) {
    const last = groups.at(-1);
    if (last && event.time - last[0].time <= gap) last.push(event);
    else groups.push([event]);
  }
  return groups;
}

function eventBlock(event) {
  const rows = [
    ['Time', `${clock(event.time, true)} (${new Date(event.time).toLocaleDateString()})`],
    ['Node', event.node],
    [
      'Change',
      event.from !== undefined || event.to !== undefined ? `${event.from ?? '–'} → ${event.to ?? '–'}` : undefined,
    ],
    ['Epoch', event.epoch],
    [
      'Detected after',
      event.detectedAfterMs !== undefined
        ? `${duration(event.detectedAfterMs)} (last healthy sign at ${clock(event.time - event.detectedAfterMs, true)})`
        : undefined,
    ],
    ['Reason', event.reason],
    ['Instance', event.instance],
  ].filter(([, value]) => value !== undefined && value !== null && value !== '');
  return el(
    'section',
    { class: 'event', 'data-event-seq': event.seq },
    el('strong', { text: `${describeEvent(event)} · event #${event.seq}` }),
    el(
      'dl',
      null,
      ...rows.flatMap(([name, value]) => [
        el('dt', { text: name }),
        el('dd', { 'data-field': name.toLowerCase().replace(/\s+/g, '-'), text: value }),
      ]),
    ),
  );
}

/**
 * The timeline of one pool in `container`. `update(timeline, windowFrom, windowTo)` redraws it;
 * `onSelect(events)` is called when a marker or an outage is clicked.
 */
export function createTimeline(container, poolName, onSelect) {
  const lanes = el('div', { class: 'lanes' });
  const axis = el('div', { class: 'axis', 'aria-hidden': 'true' });
  const outageBody = el('tbody');
  const outages = el(
    'table',
    { class: 'outages', 'data-field': 'outages' },
    el('caption', { text: `Outages in pool ${poolName}` }),
    el(
      'thead',
      null,
      el(
        'tr',
        null,
        ...['Node', 'Down at', 'Detected after', 'Back up at', 'Lasted', 'Cause'].map((label) =>
          el('th', { scope: 'col', text: label }),
        ),
      ),
    ),
    outageBody,
  );
  const noOutages = el('p', { class: 'muted', text: 'No outage in this window.' });
  const closeDetails = el('button', {
    type: 'button',
    'aria-label': 'Close the event details',
    text: '×',
    'data-action': 'close-details',
  });
  const detailsBody = el('div');
  const details = el(
    'div',
    { class: 'event-details', 'data-field': 'event-details', hidden: true },
    closeDetails,
    detailsBody,
  );
  container.replaceChildren(
    el(
      'div',
      { class: 'timeline', 'data-timeline': poolName },
      el(
        'div',
        { class: 'legend' },
        ...STATES.map((state) => el('span', { class: `key seg-${state}`, text: state })),
        el('span', { class: 'key detect', text: 'fault → verdict' }),
      ),
      lanes,
      axis,
      details,
      outages,
      noOutages,
    ),
  );
  let selected = null;

  function select(key, events) {
    selected = key;
    for (const marker of lanes.querySelectorAll('.marker'))
      marker.classList.toggle('selected', marker.dataset.key === key);
    detailsBody.replaceChildren(...events.map(eventBlock));
    details.hidden = false;
    onSelect(events);
  }
  closeDetails.addEventListener('click', () => {
    details.hidden = true;
    selected = null;
    for (const marker of lanes.querySelectorAll('.marker.selected')) marker.classList.remove('selected');
  });

  function drawLane(lane, item, x, gap) {
    const [name, bar] = lane.children;
    const [segs, detects, marks] = bar.children;
    setText(name, item.label);
    setAttr(name, 'title', item.label);
    reconcile(
      segs,
      item.segments,
      (_, i) => i,
      () => el('div'),
      (div, segment) => {
        div.className = segment.className;
        for (const [key, value] of Object.entries(segment.data)) setAttr(div, `data-${key}`, value);
        setAttr(div, 'title', segment.title);
        div.style.left = `${x(segment.from)}%`;
        div.style.width = `${Math.max(0, x(segment.to) - x(segment.from))}%`;
        setText(div, segment.text ?? '');
      },
    );
    reconcile(
      detects,
      item.outages,
      (o) => o.seq,
      () => el('div', { class: 'detect' }),
      (div, outage) => {
        setAttr(div, 'data-detected-after', outage.detectedAfterMs);
        setAttr(div, 'title', `fault → verdict: ${duration(outage.detectedAfterMs)}`);
        div.style.left = `${x(outage.faultAt)}%`;
        div.style.width = `${Math.max(0, x(outage.downAt) - x(outage.faultAt))}%`;
        setText(div, duration(outage.detectedAfterMs));
      },
    );
    reconcile(
      marks,
      groupEvents(item.events, gap),
      (group) => group.map((e) => e.seq).join('-'),
      (_group) => {
        const button = el('button', { type: 'button' });
        button.addEventListener('click', () => select(button.dataset.key, button.events));
        return button;
      },
      (button, group) => {
        button.events = group;
        button.className = `marker marker-${group[0].type}${group.length > 1 ? ' group' : ''}${button.dataset.key === selected ? ' selected' : ''}`;
        setAttr(button, 'data-seqs', group.map((e) => e.seq).join(' '));
        setAttr(button, 'data-event-type', group[0].type);
        const what = group.map((e) => `${clock(e.time, true)} ${describeEvent(e)}`).join('\n');
        setAttr(button, 'title', what);
        setAttr(
          button,
          'aria-label',
          group.length > 1
            ? `${group.length} events from ${clock(group[0].time)}`
            : `Event at ${clock(group[0].time)}: ${describeEvent(group[0])}`,
        );
        button.style.left = `${x(group[0].time)}%`;
      },
    );
  }

  function drawOutages(timeline) {
    reconcile(
      outageBody,
      [...timeline.outages].reverse(),
      (o) => o.seq,
      (outage) => {
        const cause = el('button', { type: 'button', class: 'link' });
        cause.addEventListener('click', () => {
          const event = cause.closest('tr').event;
          if (event) select(null, [event]);
        });
        return el(
          'tr',
          { 'data-node': outage.node, 'data-seq': outage.seq },
          el('td', { class: 'mono' }),
          el('td'),
          el('td', { 'data-field': 'detected-after' }),
          el('td'),
          el('td'),
          el('td', { class: 'reason' }, cause),
        );
      },
      (row, outage) => {
        row.event = timeline.events.find((e) => e.seq === outage.seq);
        const [node, down, detected, back, lasted, cause] = row.children;
        setText(node, outage.node);
        setText(down, `${clock(outage.downAt, true)}${outage.state === 'ejected' ? ' (ejected)' : ''}`);
        setText(detected, outage.detectedAfterMs === null ? 'by another instance' : duration(outage.detectedAfterMs));
        setText(back, outage.upAt === null ? 'still down' : clock(outage.upAt, true));
        setText(lasted, duration((outage.upAt ?? timeline.to) - outage.downAt));
        setText(cause.firstChild, outage.reason);
        setAttr(cause.firstChild, 'aria-label', `Details of the outage of ${outage.node} at ${clock(outage.downAt)}`);
      },
    );
    outages.hidden = timeline.outages.length === 0;
    noOutages.hidden = timeline.outages.length > 0;
  }

  return {
    update(timeline, windowFrom, windowTo) {
      const span = Math.max(1, windowTo - windowFrom);
      const x = (t) => Math.min(100, Math.max(0, ((t - windowFrom) / span) * 100));
      const gap = (span * MARKER_PX) / Math.max(200, lanes.clientWidth - 118);
      // Before the gateway started (or before events were dropped for room), nothing is known.
      const none =
        timeline.from > windowFrom
          ? [
              {
                from: windowFrom,
                to: timeline.from,
                className: 'seg seg-none',
                data: {},
                title: 'no history (before the gateway started)',
              },
            ]
          : [];
      const items = [];
      if (timeline.active) {
        items.push({
          key: '\u0000active',
          label: 'active',
          segments: [
            ...none,
            ...timeline.active.map((s) => {
              const label = s.node === null ? 'none' : `${s.node} · epoch ${s.epoch ?? '?'}`;
              return {
                from: s.from,
                to: s.to,
                className: `seg seg-active${s.node === null ? ' seg-unknown' : ''}`,
                data: { node: s.node ?? '', epoch: s.epoch ?? '' },
                title: `${label}, ${clock(s.from)} – ${clock(s.to)}`,
                text: label,
              };
            }),
          ],
          outages: [],
          events: timeline.events.filter((e) => e.type === 'promotion'),
        });
      }
      for (const node of timeline.nodes) {
        items.push({
          key: node.id,
          label: node.id,
          segments: [
            ...none,
            ...node.segments.map((s) => ({
              from: s.from,
              to: s.to,
              className: `seg seg-${s.state}`,
              data: { state: s.state },
              title: `${node.id} ${s.state}, ${clock(s.from)} – ${clock(s.to)}`,
            })),
          ],
          outages: timeline.outages.filter((o) => o.node === node.id && o.faultAt !== null),
          events: timeline.events.filter((e) => e.node === node.id),
        });
      }
      reconcile(
        lanes,
        items,
        (item) => item.key,
        (item) => {
          const lane = el(
            'div',
            { class: item.key === '\u0000active' ? 'lane lane-active' : 'lane' },
            el('div', { class: 'lane-name mono' }),
            el(
              'div',
              { class: 'bar' },
              el('div', { class: 'segs' }),
              el('div', { class: 'detects' }),
              el('div', { class: 'marks' }),
            ),
          );
          if (item.key === '\u0000active') lane.dataset.lane = 'active';
          else lane.dataset.node = item.key;
          return lane;
        },
        (lane, item) => drawLane(lane, item, x, gap),
      );
      reconcile(
        axis,
        ticks(windowFrom, windowTo),
        (t) => t,
        () => el('span', { class: 'tick' }),
        (tick, t) => {
          setText(tick, clock(t));
          tick.style.left = `${x(t)}%`;
        },
      );
      drawOutages(timeline);
    },
    destroy() {
      container.replaceChildren();
    },
  };
}
