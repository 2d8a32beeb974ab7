"""The shared priority queue, with every taken request kept in its worker's in-flight hash.

The queue hands out the best request whose domain the fleet's politeness lets go now (see
``_POP``), so that a worker's download slots are not all held by one busy domain.

scrapy-redis' ``PriorityQueue.pop`` removes a request from Redis as it hands it over: a worker
killed a moment later takes the request with it. Here one Lua script moves the request from
the queue (a sorted set) into ``worker:<id>:inflight:<seed>`` (a hash: request -> score); it
leaves that hash when the worker is done with it (:meth:`ack`), goes back to the queue when the
worker must do it again (:meth:`requeue`), or when the worker dies (:func:`requeue_all`, run by
any live worker once the dead one's heartbeat expired).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from scrapy.utils.httpobj import urlparse_cached
from scrapy_redis.queue import PriorityQueue

# KEYS: queue, in-flight hash. ARGV: lease key prefix and suffix, next-start suffix, per-domain limit,
# how many of the best requests to look at. The best request whose domain has a free lease now
# (members are "<domain> <json>"): a request the fleet's politeness would hold back does not take
# a download slot of this worker while other domains wait. None when all of them must wait.
_POP = """
local items = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[5]) - 1, 'WITHSCORES')
if #items == 0 then return nil end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[4])
local checked = {}
for i = 1, #items, 2 do
  local member = items[i]
  local domain = string.match(member, '^(%S+) ')
  local free = true
  if domain then
    if checked[domain] == nil then
      local leases = ARGV[1] .. domain .. ARGV[2]
      redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
      local next_at = tonumber(redis.call('GET', ARGV[1] .. domain .. ARGV[3]) or '0')
      checked[domain] = redis.call('ZCARD', leases) < limit and now >= next_at
    end
    free = checked[domain]
  end
  if free then
    redis.call('ZREM', KEYS[1], member)
    redis.call('HSET', KEYS[2], member, items[i + 1])
    return {member, items[i + 1]}
  end
end
return nil
"""

# KEYS: the run's seen set, queue. ARGV: fingerprint ('' when the request is not filtered), member, score.
# 1: queued; 0: seen before. One script, so that a Redis lost between the two writes cannot leave a
# request marked seen but never queued (pushed again from the worker's backlog, it would be "seen").
_PUSH = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
return 1
"""

_REQUEUE_ALL = """
local items = redis.call('HGETALL', KEYS[1])
for i = 1, #items, 2 do redis.call('ZADD', KEYS[2], items[i + 1], items[i]) end
redis.call('DEL', KEYS[1])
return #items / 2
"""


LOOKAHEAD = 1024  # the best requests the pop script looks at for one whose domain may go now


def domain_of(member: bytes) -> str:
    """The domain of a queued member (``<domain> <json>``; a bare JSON member of an older queue: its URL's)."""
    if member[:1] == b"{":
        return urlsplit(json.loads(member)["url"]).hostname or "-"
    return member.split(b" ", 1)[0].decode()


class InFlightQueue(PriorityQueue):
    """scrapy-redis' priority queue whose ``pop`` keeps the request visible until :meth:`ack`."""

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = None, *, inflight_key: str,
                 keys: Any, per_domain: int = 8):
        super().__init__(server, spider, key, serializer)
        self.inflight_key = inflight_key
        self._pop = server.register_script(_POP)
        self._push_new = server.register_script(_PUSH)
        lease_prefix, lease_suffix = keys.leases("\0").split("\0")
        self._pop_args = [lease_prefix, lease_suffix, keys.next_slot("\0").split("\0")[1], per_domain, LOOKAHEAD]
        self.taken: dict[Any, tuple[bytes, float]] = {}  # request object -> (queued form, score)

    def _encode_request(self, request: Any) -> bytes:
        """``<domain> <json>``: the pop script reads the domain without parsing JSON."""
        domain = (urlparse_cached(request).hostname or "-").replace(" ", "")
        return f"{domain} ".encode() + self.serializer.dumps(request.to_dict(spider=self.spider)).encode()

    def _decode_request(self, encoded: bytes) -> Any:
        return super()._decode_request(encoded.split(b" ", 1)[1] if encoded[:1] != b"{" else encoded)

    def push_unseen(self, request: Any, seen_key: str, fingerprint: bytes | None) -> bool:
        """Mark ``request`` seen in ``seen_key`` and queue it, in one step; False if it was seen before
        (``fingerprint`` None: not filtered, always queued)."""
        return bool(self._push_new(keys=[seen_key, self.key],
                                   args=[fingerprint or b"", self._encode_request(request), -request.priority]))

    def pop(self, timeout: int = 0) -> Any:
        item = self._pop(keys=[self.key, self.inflight_key], args=self._pop_args)
        if not item:
            return None
        data, score = item[0], float(item[1])
        request = self._decode_request(data)
        self.taken[request] = (data, score)
        return request

    def ack(self, request: Any) -> None:
        """The request is done: it leaves the in-flight hash."""
        data, _ = self.taken[request]
        self.server.hdel(self.inflight_key, data)
        del self.taken[request]

    def requeue(self, request: Any) -> None:
        """The request must be done again (its handling overlapped a Redis outage): back in the queue."""
        data, score = self.taken[request]
        pipe = self.server.pipeline()
        pipe.zadd(self.key, {data: score})
        pipe.hdel(self.inflight_key, data)
        pipe.execute()
        del self.taken[request]


def requeue_all(server: Any, inflight_key: str, queue_key: str) -> int:
    """Every request of a (dead) worker's in-flight hash back into the queue, atomically."""
    return int(server.eval(_REQUEUE_ALL, 2, inflight_key, queue_key) or 0)
