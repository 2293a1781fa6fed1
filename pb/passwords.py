"""argon2id password hashing, off the event loop and bounded in concurrency."""

from __future__ import annotations

import threading

import anyio
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from pb.config import Settings

MIN_LENGTH = 8
MAX_LENGTH = 256


class Passwords:
    """Hash and verify passwords with the configured argon2id parameters."""

    def __init__(self, settings: Settings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Each hash takes ~20 MiB and tens of milliseconds of a core: cap how many run at once.
        # A thread semaphore (not an event-loop primitive) so the cap holds across loops.
        self.slots = threading.BoundedSemaphore(settings.hashing_concurrency)
        # Verified when the email is unknown, so a miss costs the same time as a wrong password.
        self.dummy_hash = self.hasher.hash("pb-dummy-password-for-constant-time")

    def hash_sync(self, password: str) -> str:
        with self.slots:
            return self.hasher.hash(password)

    def verify_sync(self, stored_hash: str | None, password: str) -> bool:
        try:
            with self.slots:
                matched = self.hasher.verify(stored_hash or self.dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.hasher.check_needs_rehash(stored_hash)

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hash_sync, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        return await anyio.to_thread.run_sync(self.verify_sync, stored_hash, password)
