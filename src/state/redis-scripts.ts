/**
 * The Lua scripts that are the only writers of Baton's state in Redis. Each one reads, decides,
 * writes, bumps a sequence number and PUBLISHes a change notice in one atomic step, with Redis
 * server time (TIME) for timestamps, so no instance's clock matters.
 *
 * Keys (P = "baton:<cluster>:"):
 *   P health      hash   "<pool>/<node>" → {verdict, since, reason, version, down}
 *   P votes:<pool>/<node>  hash  instance → "up" | "down" | "unknown"
 *   P nodes       set    "<pool>/<node>" that have votes (for reaping)
 *   P active      hash   pool → {active, epoch, since, reason, by}
 *   P instances   zset   instance → last heartbeat (ms, server time)
 *   P started     hash   instance → start time
 *   P seq         string a counter bumped by every state change (lets subscribers see gaps)
 *   P drain       hash   "<pool>/<node>" → instance that drained it
 *   P boot        string a random id set by the first instance after Redis (re)started empty
 *   P events      channel for change notices
 * Vote keys are computed inside scripts, so Redis Cluster is not supported (Sentinel is).
 */

const now = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** Recomputes one node's cluster verdict from the live instances' votes; publishes a change. */
const recompute = `
local function recompute(P, field, pool, node, quorumArg, window, now, reason)
  local live, liveCount = {}, 0
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'instances', now - window, '+inf')) do
    live[id] = true
    liveCount = liveCount + 1
  end
  local votes = redis.call('HGETALL', P .. 'votes:' .. field)
  local down, up = {}, 0
  for i = 1, #votes, 2 do
    if live[votes[i]] then
      if votes[i + 1] == 'down' then table.insert(down, votes[i]) elseif votes[i + 1] == 'up' then up = up + 1 end
    end
  end
  table.sort(down)
  local quorum = tonumber(quorumArg) or (math.floor(math.max(liveCount, 1) / 2) + 1)
  local verdict = 'unknown'
  if #down >= quorum then verdict = 'down' elseif up > 0 then verdict = 'up' end
  local downList = table.concat(down, ',')
  local raw = redis.call('HGET', P .. 'health', field)
  local current = raw and cjson.decode(raw) or nil
  if current and current.verdict == verdict and current.down == downList then return nil end
  local record = {
    verdict = verdict,
    since = (current and current.verdict == verdict) and current.since or now,
    reason = (current and current.verdict == verdict) and current.reason or reason,
    version = (current and current.version or 0) + 1,
    down = downList,
  }
  redis.call('HSET', P .. 'health', field, cjson.encode(record))
  local seq = redis.call('INCR', P .. 'seq')
  redis.call('PUBLISH', P .. 'events', cjson.encode({ type = 'health', pool = pool, node = node, seq = seq, record = record,
    previous = current and current.verdict or 'unknown' }))
  return record
end
`;

/**
 * One instance's local verdict on one node.
 * ARGV: prefix, instance, pool, node, verdict, reason, quorum ('majority' | n), liveWindowMs
 * Returns the node's cluster record (JSON).
 */
export const reportScript = `${now}${recompute}
local P, instance, pool, node, verdict, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local field = pool .. '/' .. node
local previous = redis.call('HGET', P .. 'votes:' .. field, instance)
redis.call('HSET', P .. 'votes:' .. field, instance, verdict)
redis.call('SADD', P .. 'nodes', field)
-- A vote is a sign of life: it keeps the reporter's vote counting.
redis.call('ZADD', P .. 'instances', now, instance)
if verdict == 'down' and previous ~= 'down' then
  redis.call('PUBLISH', P .. 'events', cjson.encode({ type = 'suspect', pool = pool, node = node, by = instance }))
end
recompute(P, field, pool, node, ARGV[7], tonumber(ARGV[8]), now, instance .. ': ' .. reason)
return redis.call('HGET', P .. 'health', field)
`;

/**
 * Compare-and-set on a pool's epoch: make \`to\` active if the epoch is still \`expected\`.
 * ARGV: prefix, pool, expectedEpoch, to, reason, instance
 * Returns {1, state} if this proposal won, {0, current state or ''} if another one did.
 */
export const proposeScript = `${now}
local P, pool, expected, to, reason, instance = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local raw = redis.call('HGET', P .. 'active', pool)
local current = raw and cjson.decode(raw) or nil
local epoch = current and current.epoch or 0
if epoch ~= expected then return { 0, raw or '' } end
local state = { active = to, epoch = epoch + 1, since = now, reason = reason, by = instance }
local encoded = cjson.encode(state)
redis.call('HSET', P .. 'active', pool, encoded)
local seq = redis.call('INCR', P .. 'seq')
redis.call('PUBLISH', P .. 'events', cjson.encode({ type = 'active', pool = pool, seq = seq, state = state, previous = current }))
return { 1, encoded }
`;

/**
 * After Redis restarted empty: restore an active-passive pool's last known state, so epochs
 * keep rising (a fencing token must never go back). The highest epoch any instance knew wins.
 * ARGV: prefix, pool, state (JSON)
 */
export const seedActiveScript = `
local P, pool, state = ARGV[1], ARGV[2], cjson.decode(ARGV[3])
local raw = redis.call('HGET', P .. 'active', pool)
local current = raw and cjson.decode(raw) or nil
if current and current.epoch >= state.epoch then return raw end
local encoded = cjson.encode(state)
redis.call('HSET', P .. 'active', pool, encoded)
local seq = redis.call('INCR', P .. 'seq')
redis.call('PUBLISH', P .. 'events', cjson.encode({ type = 'active', pool = pool, seq = seq, state = state, previous = current }))
return encoded
`;

/**
 * An instance's heartbeat: refresh its liveness, set the boot id if Redis has none, and reap
 * instances whose heartbeat expired (their votes stop counting; affected verdicts recomputed).
 * ARGV: prefix, instance, startedAt, liveWindowMs, quorum, bootCandidate
 * Returns {boot id, server time}.
 */
export const heartbeatScript = `${now}${recompute}
local P, instance, startedAt, window, quorum, candidate = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
if not redis.call('ZSCORE', P .. 'instances', instance) then
  redis.call('HSET', P .. 'started', instance, startedAt)
  redis.call('PUBLISH', P .. 'events', cjson.encode({ type = 'instance', instance = instance, joined = true }))
end
redis.call('ZADD', P .. 'instances', now, instance)
local boot = redis.call('GET', P .. 'boot')
if not boot then
  redis.call('SET', P .. 'boot', candidate)
  boot = candidate
end
local dead = redis.call('ZRANGEBYSCORE', P .. 'instances', '-inf', '(' .. (now - window))
if #dead > 0 then
  for _, id in ipairs(dead) do
    redis.call('ZREM', P .. 'instances', id)
    redis.call('HDEL', P .. 'started', id)
    redis.call('PUBLISH', P .. 'events', cjson.encode({ type = 'instance', instance = id, joined = false }))
  end
  for _, field in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
    local removed = false
    for _, id in ipairs(dead) do
      if redis.call('HDEL', P .. 'votes:' .. field, id) == 1 then removed = true end
    end
    if removed then
      local slash = string.find(field, '/', 1, true)
      recompute(P, field, string.sub(field, 1, slash - 1), string.sub(field, slash + 1), quorum, window, now, 'instance gone: ' .. table.concat(dead, ','))
    end
  end
end
return { boot, now }
`;

/** Leaving cleanly: drop this instance's liveness and votes, recompute what they decided. */
export const leaveScript = `${now}${recompute}
local P, instance, window, quorum = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
redis.call('ZREM', P .. 'instances', instance)
redis.call('HDEL', P .. 'started', instance)
redis.call('PUBLISH', P .. 'events', cjson.encode({ type = 'instance', instance = instance, joined = false }))
for _, field in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  if redis.call('HDEL', P .. 'votes:' .. field, instance) == 1 then
    local slash = string.find(field, '/', 1, true)
    recompute(P, field, string.sub(field, 1, slash - 1), string.sub(field, slash + 1), quorum, window, now, 'instance left: ' .. instance)
  end
end
return 1
`;

/**
 * An operator drains or enables a node, for every instance.
 * ARGV: prefix, pool, node, draining ('1' | '0'), instance
 */
export const drainScript = `
local P, pool, node, draining, instance = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1', ARGV[5]
local field = pool .. '/' .. node
local changed
if draining then changed = redis.call('HSET', P .. 'drain', field, instance) else changed = redis.call('HDEL', P .. 'drain', field) end
if changed == 1 then
  local seq = redis.call('INCR', P .. 'seq')
  redis.call('PUBLISH', P .. 'events', cjson.encode({ type = 'drain', pool = pool, node = node, draining = draining, by = instance, seq = seq }))
end
return changed
`;
