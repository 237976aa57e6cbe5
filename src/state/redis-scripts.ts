import { luaKeys } from './redis-keys.ts';
import { luaPrelude, luaVerdicts } from './redis-lua.ts';

/**
 * The Lua scripts that are the only writers of Baton's state in Redis. Each one reads, decides,
 * writes and publishes its changes in one atomic step, with Redis server time (TIME) for
 * timestamps, so no instance's clock matters. Every script receives all the keys of the
 * cluster (redis-keys.ts) and the notice channel as ARGV[1].
 */

/**
 * An instance's heartbeat: claim its id (refused while another live process holds it), set the
 * history id if Redis has none, reap instances whose heartbeat expired, refresh its liveness.
 * ARGV: channel, instance, token, startedAt, liveWindowMs, quorum, historyCandidate
 * Returns {'ok' | 'duplicate', history, server time, joined (1: it was not registered), mark,
 * the holder's start time when duplicate}.
 */
export const heartbeatScript = `${luaPrelude}${luaVerdicts}
local channel, instance, token, startedAt, window, quorumArg = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local history = redis.call('GET', K.history)
if not history then
  redis.call('SET', K.history, ARGV[7])
  history = ARGV[7]
end
local owner = redis.call('HGET', K.owners, instance)
if owner then
  local space = string.find(owner, ' ', 1, true)
  local ownerToken, ownerStarted = string.sub(owner, 1, space - 1), tonumber(string.sub(owner, space + 1))
  local seen = tonumber(redis.call('ZSCORE', K.instances, instance))
  -- Another process beats under this id. The one that started first keeps it.
  if ownerToken ~= token and seen and seen >= now - window then
    if startedAt > ownerStarted or (startedAt == ownerStarted and token > ownerToken) then
      return { 'duplicate', history, now, 0, 0, ownerStarted }
    end
  end
end
redis.call('HSET', K.owners, instance, token .. ' ' .. startedAt)
reap(window, quorumArg)
local joined = 0
if not redis.call('ZSCORE', K.instances, instance) then
  joined = 1
  redis.call('HSET', K.started, instance, startedAt)
  changes[#changes + 1] = { t = 'instance', instance = instance, joined = true }
end
redis.call('ZADD', K.instances, now, instance)
if joined == 1 and not tonumber(quorumArg) then reevaluateAll(quorumSize(quorumArg, liveCount(window)), 'live instances changed') end
local m = mark(instance)
publish(channel)
return { 'ok', history, now, joined, m, 0 }
`;

/**
 * One instance's verdicts on any number of nodes (one script per batch).
 * ARGV: channel, instance, quorum ('majority' | n), liveWindowMs, then (pool, node, verdict, reason)…
 * Returns {registered (0: not a live instance, votes ignored: beat and send them again), mark,
 * then field, record for every node record that changed}.
 */
export const reportScript = `${luaPrelude}${luaVerdicts}
local channel, instance, quorumArg, window = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local m = mark(instance)
reap(window, quorumArg)
if not redis.call('ZSCORE', K.instances, instance) then
  publish(channel)
  return { 0, m }
end
-- A vote is a sign of life: it keeps the reporter's votes counting.
redis.call('ZADD', K.instances, 'XX', now, instance)
local quorum = quorumSize(quorumArg, liveCount(window))
local out = { 1, m }
for i = 5, #ARGV, 4 do
  local field = ARGV[i] .. '/' .. ARGV[i + 1]
  local encoded = vote(field, instance, ARGV[i + 2], ARGV[i + 3], quorum)
  if encoded then
    out[#out + 1] = field
    out[#out + 1] = encoded
  end
end
publish(channel)
return out
`;

/**
 * Compare-and-set on a pool's epoch: make \`to\` active if the epoch is still \`expected\`.
 * ARGV: channel, instance, pool, expectedEpoch, to, reason, proposalId, flips, pinned ('1' | '0')
 * Returns {1, state, mark} if this proposal won, {0, current state or '', mark} if not.
 */
export const proposeScript = `${luaPrelude}
local channel, instance, pool, expected = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local m = mark(instance)
local raw = redis.call('HGET', K.active, pool)
local current = decode(raw)
local epoch = current and current.epoch or 0
if epoch ~= expected then return { 0, raw or '', m } end
local state = {
  active = ARGV[5], epoch = epoch + 1, since = now, reason = ARGV[6], by = instance, id = ARGV[7],
  from = current and current.active or '', flips = tonumber(ARGV[8]) or 0, pinned = ARGV[9] == '1',
}
local encoded = cjson.encode(state)
redis.call('HSET', K.active, pool, encoded)
changes[#changes + 1] = { t = 'active', pool = pool, state = state }
publish(channel)
return { 1, encoded, m }
`;

/**
 * An active state this instance knows and Redis may not: after Redis lost writes, or a decision
 * taken while Redis was unreachable. Redis keeps the higher epoch; it takes ours if it is
 * behind ('restored'); two different states of one epoch are healed with a new, higher epoch
 * for the one ranked first by proposal id ('healed'), so the epoch is never left shared.
 * ARGV: channel, instance, pool, state (JSON), id for a healing state
 * Returns {'kept' | 'restored' | 'healed', the state Redis now has, mark}.
 */
export const seedActiveScript = `${luaPrelude}
local channel, instance, pool = ARGV[1], ARGV[2], ARGV[3]
local m = mark(instance)
local raw = redis.call('HGET', K.active, pool)
local current = decode(raw)
local state = cjson.decode(ARGV[4])
local outcome = 'restored'
if current and current.epoch > state.epoch then return { 'kept', raw, m } end
if current and current.epoch == state.epoch then
  if (current.id or '') == (state.id or '') then return { 'kept', raw, m } end
  local first = current
  if (state.id or '') > (current.id or '') then first = state end
  state = {
    active = first.active, epoch = current.epoch + 1, since = now, by = instance, id = ARGV[5],
    reason = 'two states held epoch ' .. current.epoch .. ': kept ' .. first.active .. ' under a new epoch',
    from = first.from or '', flips = first.flips or 0, pinned = first.pinned == true,
  }
  outcome = 'healed'
end
local encoded = cjson.encode(state)
redis.call('HSET', K.active, pool, encoded)
changes[#changes + 1] = { t = 'active', pool = pool, state = state }
publish(channel)
return { outcome, encoded, m }
`;

/**
 * Drains and enables. 'live': an operator's action now, versioned with Redis time (later than
 * anything stored). 'replay': an operation made while Redis was unreachable, or one Redis lost,
 * applied only if nothing newer was stored meanwhile.
 * ARGV: channel, instance, mode ('live' | 'replay'), then (pool, node, draining '1' | '0', version, by)…
 * Returns {mark, then for each node: 1 if this wrote it (0 if Redis had a newer one), the record Redis now has}.
 */
export const drainScript = `${luaPrelude}
local channel, instance, mode = ARGV[1], ARGV[2], ARGV[3]
local out = { mark(instance) }
for i = 4, #ARGV, 5 do
  local field = ARGV[i] .. '/' .. ARGV[i + 1]
  local raw = redis.call('HGET', K.drain, field)
  local current = decode(raw)
  local known = current and tonumber(current.version) or 0
  local version = tonumber(ARGV[i + 3])
  if mode == 'live' then version = math.max(now, known + 1) end
  if current and known >= version then
    out[#out + 1] = 0
    out[#out + 1] = raw
  else
    local record = { draining = ARGV[i + 2] == '1', by = ARGV[i + 4], version = version }
    local encoded = cjson.encode(record)
    redis.call('HSET', K.drain, field, encoded)
    changes[#changes + 1] = { t = 'drain', pool = ARGV[i], node = ARGV[i + 1], record = record }
    out[#out + 1] = 1
    out[#out + 1] = encoded
  end
end
publish(channel)
return out
`;

/**
 * Leaving cleanly: drop this instance's liveness and votes (only if it holds its id: a refused
 * duplicate must not remove the live holder).
 * ARGV: channel, instance, token, liveWindowMs, quorum
 */
export const leaveScript = `${luaPrelude}${luaVerdicts}
local channel, instance, token, window, quorumArg = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local owner = redis.call('HGET', K.owners, instance)
if owner and string.sub(owner, 1, #token + 1) ~= token .. ' ' then return 0 end
removeInstance(instance)
redis.call('HDEL', K.owners, instance)
redis.call('HDEL', K.marks, instance)
local quorum = quorumSize(quorumArg, liveCount(window))
dropVotes(instance, quorum, 'instance left: ' .. instance)
if not tonumber(quorumArg) then reevaluateAll(quorum, 'live instances changed') end
publish(channel)
return 1
`;

/**
 * Redis lost state (found by an instance): a new history id tells every instance to re-seed
 * what it knows. Renewed only once per loss: if another instance renewed it already, that id
 * is returned.
 * ARGV: the id the caller knew, a new candidate
 */
export const renewHistoryScript = `${luaKeys}
local current = redis.call('GET', K.history)
if current and current ~= ARGV[1] then return current end
redis.call('SET', K.history, ARGV[2])
return ARGV[2]
`;

/** Everything, in one atomic read: {history, seq, health, active, instances with scores, started, drain, time}. */
export const snapshotScript = `${luaKeys}
local t = redis.call('TIME')
return {
  redis.call('GET', K.history) or '', redis.call('GET', K.seq) or '0',
  redis.call('HGETALL', K.health), redis.call('HGETALL', K.active),
  redis.call('ZRANGE', K.instances, 0, -1, 'WITHSCORES'), redis.call('HGETALL', K.started),
  redis.call('HGETALL', K.drain), tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000),
}
`;
