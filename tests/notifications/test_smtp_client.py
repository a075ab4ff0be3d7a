"""The pipelined SMTP client against a scripted server that misbehaves at a chosen message.

What a broken conversation must leave behind (notifications.sender records it): a message whose content
was written and whose reply never came is `InFlight` (maybe delivered: recorded uncertain, resent once);
a reply that did arrive before the break still counts; every message not yet written gets the error, so
it is retried. Items are drawn from the iterable one ahead, and all of them get a result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiosmtplib
import pytest

from notifications.smtp_client import Envelope, InFlight, PipelinedSmtp

ACCEPT, DROP, HANG, GARBAGE, REPLY_THEN_DROP = "accept", "drop", "hang", "garbage", "reply then drop"
REFUSE = "refuse the recipient, then RSET"
REFUSALS = {b"RCPT": b"550 no such user\r\n", b"DATA": b"554 no valid recipients\r\n"}


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, script: dict[int, str]) -> None:
    """An SMTP server with PIPELINING that does `script[n]` after the content of message n (from 0)."""
    writer.write(b"220 scripted\r\n")
    message = 0
    while line := await reader.readline():
        command = line[:4].upper()
        if command == b"EHLO":
            writer.write(b"250-scripted\r\n250-PIPELINING\r\n250 OK\r\n")
        elif command == b"RSET":  # sent only after a refusal
            writer.write(b"502 not today\r\n" if REFUSE in script.values() else b"250 OK\r\n")
        elif script.get(message) == REFUSE and command in REFUSALS:
            writer.write(REFUSALS[command])
            message += command == b"DATA"
        elif command == b"DATA":
            writer.write(b"354 go on\r\n")
            while await reader.readline() not in (b".\r\n", b""):
                pass
            action = script.get(message, ACCEPT)
            message += 1
            if action == HANG:
                await asyncio.sleep(30)
            if action in (DROP, HANG):
                break
            writer.write(b"nonsense\r\n" if action == GARBAGE else b"250 queued\r\n")
            if action == REPLY_THEN_DROP:
                await writer.drain()
                break
        elif command == b"QUIT":
            writer.write(b"221 bye\r\n")
            break
        else:
            writer.write(b"250 OK\r\n")
    writer.close()


def _envelopes(count: int, drawn: list[int]) -> Iterator[Envelope]:
    for n in range(count):
        drawn.append(n)
        yield Envelope("noreply@factory-review.local", f"user{n}@example.com", b"Subject: x\r\n\r\nbody\r\n")


async def _send(script: dict[int, str], count: int = 4) -> tuple[list[BaseException | None], list[int]]:
    server = await asyncio.start_server(lambda r, w: _serve(r, w, script), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    drawn: list[int] = []
    async with server:
        client = PipelinedSmtp("127.0.0.1", port, timeout=0.5)
        await client.open()
        results = await client.send_many(_envelopes(count, drawn))
        await client.close()
    return results, drawn


def test_every_message_accepted_over_one_pipelined_connection() -> None:
    results, drawn = asyncio.run(_send({}))
    assert results == [None] * 4 and drawn == [0, 1, 2, 3]


@pytest.mark.parametrize("action", [DROP, HANG, GARBAGE])
def test_content_without_its_reply_is_in_flight_and_the_rest_get_the_error(action: str) -> None:
    results, drawn = asyncio.run(_send({1: action}))
    assert results[0] is None
    assert isinstance(results[1], InFlight)  # maybe delivered: the sender records it uncertain
    assert all(isinstance(r, aiosmtplib.SMTPException) and not isinstance(r, InFlight) for r in results[2:])
    assert drawn == [0, 1, 2, 3]  # every item is drawn and gets a result, though not sent


def test_a_refused_rset_ends_the_conversation_and_what_was_not_sent_is_retried() -> None:
    results, _drawn = asyncio.run(_send({1: REFUSE}))
    assert results[0] is None
    assert isinstance(results[1], aiosmtplib.SMTPRecipientsRefused)  # the refusal itself is kept
    # The rest were never offered: a transient error (retried with backoff), not the RSET's 502.
    assert all(isinstance(r, aiosmtplib.SMTPServerDisconnected) and "502" in str(r) for r in results[2:])


def test_a_reply_read_before_the_connection_broke_still_counts() -> None:
    results, _drawn = asyncio.run(_send({1: REPLY_THEN_DROP}))
    assert results[:2] == [None, None]
    assert all(isinstance(r, aiosmtplib.SMTPServerDisconnected) for r in results[2:])
