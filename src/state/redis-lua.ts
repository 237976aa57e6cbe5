import { luaKeys } from './redis-keys.ts';

/**
 * The Lua shared by Baton's scripts: Redis time, the batch of change notices a script
 * publishes (one PUBLISH per script, one entry per node per change), and the cluster verdict
 * kept incrementally. A node's record holds who votes it down (a list and a count) and how many
 * vote it up, so one vote costs a few O(1) commands however many instances there are;
 * the votes hash is walked only when an instance goes. A record is published only when its
 * verdict changes; who votes it down is stored, and read by the other instances at their next
 * resync.
 */
export const luaPrelude = `${luaKeys}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local changes = {}

local function publish(channel)
  if #changes == 0 then return end
  local seq = redis.call('INCR', K.seq)
  redis.call('PUBLISH', channel, cjson.encode({ seq = seq, changes = changes }))
end

-- Every script an instance runs bumps its mark: a reply with a mark not above the last one it
-- saw proves that Redis lost some of its writes.
local function mark(instance)
  return redis.call('HINCRBY', K.marks, instance, 1)
end

local function decode(raw)
  if not raw then return nil end
  local ok, value = pcall(cjson.decode, raw)
  if ok and type(value) == 'table' then return value end
  return nil
end

local function splitField(field)
  local slash = string.find(field, '/', 1, true)
  return string.sub(field, 1, slash - 1), string.sub(field, slash + 1)
end
`;

export const luaVerdicts = `
-- Who votes a node down: a comma-separated list kept with C string functions (no Lua tables),
-- and a count, so a vote costs the same with 3 instances or 300.
local function without(list, id)
  local padded = ',' .. list .. ','
  local s, e = string.find(padded, ',' .. id .. ',', 1, true)
  if not s then return list, false end
  local out = string.sub(padded, 1, s) .. string.sub(padded, e + 1)
  return string.sub(out, 2, -2), true
end

local function with(list, id)
  if list == '' then return id end
  return list .. ',' .. id
end

local function quorumSize(arg, live)
  return tonumber(arg) or (math.floor(math.max(live, 1) / 2) + 1)
end

local function liveCount(window)
  return redis.call('ZCOUNT', K.instances, now - window, '+inf')
end

local function verdictOf(r, quorum)
  if r.downs >= quorum then return 'down' end
  if r.ups > 0 then return 'up' end
  return 'unknown'
end

local function normalize(r)
  r.ups = tonumber(r.ups) or 0
  r.down = type(r.down) == 'string' and r.down or ''
  if not tonumber(r.downs) then
    local _, commas = string.gsub(r.down, ',', '')
    r.downs = r.down == '' and 0 or commas + 1
  end
  return r
end

local function loadRecord(field)
  local r = decode(redis.call('HGET', K.health, field))
  if not r then return { verdict = 'unknown', since = now, reason = '', version = 0, down = '', downs = 0, ups = 0 } end
  return normalize(r)
end

-- Stores a node's record after its counts changed; a new verdict is also published.
local function settle(field, r, quorum, reason)
  local verdict = verdictOf(r, quorum)
  if verdict ~= r.verdict then
    r.since = now
    r.reason = reason
    local pool, node = splitField(field)
    changes[#changes + 1] = { t = 'health', pool = pool, node = node, record = r }
  end
  r.verdict = verdict
  r.version = r.version + 1
  local encoded = cjson.encode(r)
  redis.call('HSET', K.health, field, encoded)
  return encoded
end

-- One instance's vote on one node; returns the node's record if it changed.
local function vote(field, instance, verdict, reason, quorum)
  local key = field .. '|' .. instance
  local previous = redis.call('HGET', K.votes, key)
  if previous == verdict then return nil end
  redis.call('HSET', K.votes, key, verdict)
  if not previous then redis.call('SADD', K.nodes, field) end
  local r = loadRecord(field)
  local removed
  r.down, removed = without(r.down, instance)
  if removed then r.downs = r.downs - 1 end
  local suspected = r.downs == 0
  if previous == 'up' then r.ups = math.max(0, r.ups - 1) end
  if verdict == 'down' then
    r.down = with(r.down, instance)
    r.downs = r.downs + 1
  elseif verdict == 'up' then
    r.ups = r.ups + 1
  end
  local encoded = settle(field, r, quorum, instance .. ': ' .. reason)
  -- The first suspicion, when it did not already turn the verdict: others probe the node now.
  if verdict == 'down' and suspected and r.verdict ~= 'down' then
    local pool, node = splitField(field)
    changes[#changes + 1] = { t = 'suspect', pool = pool, node = node, by = instance }
  end
  return encoded
end

-- The live instances changed ('majority' quorum): verdicts that change with it are settled.
local function reevaluateAll(quorum, reason)
  local all = redis.call('HGETALL', K.health)
  for i = 1, #all, 2 do
    local r = decode(all[i + 1])
    if r then
      normalize(r)
      if verdictOf(r, quorum) ~= r.verdict then settle(all[i], r, quorum, reason) end
    end
  end
end

-- An instance left or was reaped: its votes stop counting.
local function dropVotes(id, quorum, reason)
  for _, field in ipairs(redis.call('SMEMBERS', K.nodes)) do
    local key = field .. '|' .. id
    local previous = redis.call('HGET', K.votes, key)
    if previous then
      redis.call('HDEL', K.votes, key)
      if previous == 'down' or previous == 'up' then
        local r = loadRecord(field)
        local removed
        r.down, removed = without(r.down, id)
        if removed then r.downs = r.downs - 1 end
        if previous == 'up' then r.ups = math.max(0, r.ups - 1) end
        settle(field, r, quorum, reason)
      end
    end
  end
end

local function removeInstance(id)
  redis.call('ZREM', K.instances, id)
  redis.call('HDEL', K.started, id)
  changes[#changes + 1] = { t = 'instance', instance = id, joined = false }
end

-- Instances whose heartbeat expired no longer vote.
local function reap(window, quorumArg)
  local dead = redis.call('ZRANGEBYSCORE', K.instances, '-inf', '(' .. (now - window))
  if #dead == 0 then return end
  for _, id in ipairs(dead) do removeInstance(id) end
  local quorum = quorumSize(quorumArg, liveCount(window))
  for _, id in ipairs(dead) do dropVotes(id, quorum, 'instance gone: ' .. id) end
  if not tonumber(quorumArg) then reevaluateAll(quorum, 'live instances changed') end
end
`;
