"""Faults on request, for the chaos suite (chaos/scenarios/snowflake.ts): not a Snowflake feature.

    POST /emulator/faults {"delay_ms": 8000, "count": 3, "match": "MERGE"}
        the next `count` statements whose text matches `match` (a regular expression, case-insensitive;
        default any) are held `delay_ms` before they run (and then run: a statement the client gave up
        on still lands, late, as a slow statement on Snowflake would)
    POST /emulator/faults {"expire": "session"}
        every session token issued so far expires: a request with one gets Snowflake's 390112 "Session
        token expired"; the client renews it with its master token (/session/token-request) and goes on
    POST /emulator/faults {"expire": "master"}
        both tokens expire: requests get 390112, renewal gets 390114 "Master token expired"; the client
        must log in again (a new session)
    POST /emulator/faults {"clear": true}
        no more delays (expired tokens stay expired)
    POST /emulator/faults {}
        nothing changes (the state only)

The answer is the fault state: {"pending_delays": N, "delayed": N, "expired": N, "renewed": N}.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, field


@dataclass
class _Delay:
    ms: int
    remaining: int
    pattern: re.Pattern[str]


@dataclass
class Faults:
    delays: list[_Delay] = field(default_factory=list)
    # session token -> "session" (renewable) or "master" (log in again)
    expired: dict[str, str] = field(default_factory=dict)
    # master token -> the session token it renews
    masters: dict[str, str] = field(default_factory=dict)
    delayed: int = 0
    renewed: int = 0

    def configure(self, body: dict, live_tokens: list[str]) -> dict:
        if body.get("clear"):
            self.delays.clear()
        if (ms := body.get("delay_ms")) is not None:
            pattern = re.compile(str(body.get("match") or "."), re.IGNORECASE)
            self.delays.append(_Delay(int(ms), int(body.get("count") or 1), pattern))
        if (kind := body.get("expire")) in ("session", "master"):
            for token in live_tokens:
                self.expired[token] = kind
        return self.state()

    def state(self) -> dict:
        return {
            "pending_delays": sum(d.remaining for d in self.delays),
            "delayed": self.delayed,
            "expired": len(self.expired),
            "renewed": self.renewed,
        }

    async def before_statement(self, sql_text: str) -> None:
        """Holds a statement a delay asks for (outside the statement lock: others go on meanwhile)."""
        for delay in self.delays:
            if delay.remaining > 0 and delay.pattern.search(sql_text):
                delay.remaining -= 1
                self.delayed += 1
                await asyncio.sleep(delay.ms / 1000)
                return

    def expired_kind(self, token: str | None) -> str | None:
        return self.expired.get(token) if token else None

    def master_token_for(self, session_token: str) -> str:
        master = "master-" + secrets.token_urlsafe(24)
        self.masters[master] = session_token
        return master

    def renew(self, master: str | None) -> tuple[str, str] | str:
        """(old session token, new session token), or the error code to answer."""
        old = self.masters.get(master or "")
        if old is None:
            return "390114"
        if self.expired.get(old) == "master":
            return "390114"
        new = secrets.token_urlsafe(32)
        self.masters[master or ""] = new
        self.renewed += 1
        return old, new


FAULTS = Faults()
