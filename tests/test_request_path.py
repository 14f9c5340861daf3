"""The request path's batches keep their promises: the access log still goes through
``logging`` one line per request, at the time each request ended, and the journal has every
entry at once, redacted."""

from __future__ import annotations

import asyncio
import io
import logging
import time

from simulator.journal import LOG_FORMAT, AccessLog, ConsoleFormatter, ConsoleHandler, RequestJournal


def _record(msg="GET /x 200 0.1ms", level=logging.INFO, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("simulator.access", level, __file__, 1, msg, (), exc_info)


def test_console_formatter_writes_log_format():
    record = _record()
    assert ConsoleFormatter().format(record) == logging.Formatter(LOG_FORMAT).format(_copy(record))
    record.created = 1795400000.0457   # a new second: the cached stamp moves on
    record.msecs = 45.0
    assert ConsoleFormatter().format(record) == logging.Formatter(LOG_FORMAT).format(_copy(record))
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        failed = _record("failed", logging.ERROR, sys.exc_info())
    text = ConsoleFormatter().format(failed)
    assert "Traceback" in text and "ValueError: boom" in text


def _copy(record: logging.LogRecord) -> logging.LogRecord:
    return logging.makeLogRecord(dict(record.__dict__))


def test_console_handler_batches_info_and_writes_warnings_at_once():
    async def run():
        stream = io.StringIO()
        handler = ConsoleHandler(stream, delay=0.05)
        handler.handle(_record("one"))
        handler.handle(_record("two"))
        assert stream.getvalue() == ""                      # waiting for the batch
        handler.handle(_record("careful", logging.WARNING))
        assert stream.getvalue().splitlines()[0].endswith("simulator.access: one")
        assert len(stream.getvalue().splitlines()) == 3     # a warning flushes what waited
        handler.handle(_record("three"))
        await asyncio.sleep(0.1)
        assert stream.getvalue().splitlines()[-1].endswith("simulator.access: three")
    asyncio.run(run())
    stream = io.StringIO()
    ConsoleHandler(stream).handle(_record("outside a loop"))
    assert stream.getvalue().endswith("outside a loop\n")


class _Keep(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def _access_logger(name: str) -> tuple[logging.Logger, _Keep]:
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    keep = _Keep()
    logger.addHandler(keep)
    return logger, keep


def _vats_key(sim) -> str:
    return sim.accounts["vats"].credentials["api_key"]


async def test_requests_reach_the_journal_and_the_access_log_in_batches(client, sim):
    logger, keep = _access_logger("test.access.batch")
    sim.requests.access_log = AccessLog(logger)
    sim.requests.delay = 0.05
    before = time.time()
    assert (await client.get("/sys/crm_api.wcgp?cmd=accounts&token=s3cret")).status == 401
    assert (await client.get("/crmapi/v1/users", headers={"X-API-KEY": _vats_key(sim)})).status == 200
    assert keep.records == []                              # written in a batch, not per request
    await asyncio.sleep(0.1)
    assert [r.getMessage().rsplit(" ", 1)[0] for r in keep.records] == [
        "GET /sys/crm_api.wcgp?cmd=accounts&token=*** 401", "GET /crmapi/v1/users 200"]
    first = keep.records[0]
    assert first.levelno == logging.INFO and first.name == "test.access.batch"
    assert first.getMessage().endswith("ms")
    assert before <= first.created <= keep.records[1].created <= time.time()   # when each request ended
    assert first.msecs == int((first.created % 1) * 1000)
    plain = logger.makeRecord(logger.name, logging.INFO, "(unknown file)", 0, "x", (), None)
    assert set(first.__dict__) == set(plain.__dict__)       # every attribute a handler may read
    entries = sim.requests.entries()
    assert [(e.path, e.status, e.account, e.provider) for e in entries] == [
        ("/sys/crm_api.wcgp?cmd=accounts&token=***", 401, None, "cloudpbx"),
        ("/crmapi/v1/users", 200, "vats", "vats")]
    assert entries[0].id + 1 == entries[1].id and entries[1].latency_ms == round(entries[1].latency_ms, 3)


async def test_journal_entries_are_there_at_once(client, sim):
    sim.requests.delay = 60
    await client.get("/crmapi/v1/users", headers={"X-API-KEY": "wrong"})
    await client.get("/nowhere")
    assert [(e.path, e.status, e.account, e.provider) for e in sim.requests.entries()] == [
        ("/crmapi/v1/users", 401, None, "vats"), ("/nowhere", 404, None, None)]
    journal = await (await client.get("/_sim/requests")).json()
    assert [e["path"] for e in journal][:2] == ["/crmapi/v1/users", "/nowhere"]


async def test_access_log_is_silent_below_info(client, sim):
    logger, keep = _access_logger("test.access.levels")
    logger.setLevel(logging.WARNING)
    sim.requests.access_log = AccessLog(logger)
    await client.get("/_sim/health")
    sim.requests.flush()
    assert keep.records == [] and len(sim.requests.entries()) == 1


def test_access_lines_outside_a_loop_are_written_at_once():
    logger, keep = _access_logger("test.access.now")
    journal = RequestJournal(size=100, access_log=AccessLog(logger))
    ended = time.perf_counter()
    journal.add(5.0, "GET", "/a", 200, 0.1, None, None, "127.0.0.1", ended)
    assert [r.getMessage() for r in keep.records] == ["GET /a 200 0.1ms"]
    assert abs(keep.records[0].created - (time.time() - (time.perf_counter() - ended))) < 0.01
    assert journal.entries()[0].at == 5.0


def test_access_lines_come_before_their_entries_can_drop_out():
    logger, keep = _access_logger("test.access.batch.size")
    journal = RequestJournal(size=10, access_log=AccessLog(logger), batch=20)

    async def run():
        for n in range(12):
            journal.add(float(n), "GET", f"/{n}", 200, 0.1, None, None, None)
        journal.flush()
    asyncio.run(run())
    assert [r.getMessage().split()[1] for r in keep.records] == [f"/{n}" for n in range(12)]
    assert len(journal.entries()) == 10


def test_console_lines_are_the_same_with_or_without_records():
    """The access log skips making records when a ConsoleHandler is all they would reach:
    what it writes is what the records would have made it write."""
    lines = [(1795400000.0457, "GET", "/x?token=***", 200, 1.25), (1795400001.9999, "POST", "/y", 400, 0.04)]

    def written(with_filter: bool) -> str:
        logger = logging.getLogger("test.access.console")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.handlers.clear()
        stream = io.StringIO()
        handler = ConsoleHandler(stream)
        if with_filter:
            handler.addFilter(lambda record: True)   # something looks at records: they are made
        logger.addHandler(handler)
        log = AccessLog(logger)
        assert (log._console_only() is handler) is not with_filter
        log.write(lines)
        handler.flush()
        return stream.getvalue()

    text = written(False)
    assert text == written(True)
    assert text.splitlines()[0].endswith(",045 INFO test.access.console: GET /x?token=*** 200 1.2ms")


def test_journal_gives_paths_redacted():
    journal = RequestJournal(size=2)
    journal.add(1.0, "GET", "/x?token=abc&y=1", 200, 0.1, "acc", "cloudpbx", "127.0.0.1")
    journal.add(2.0, "GET", "/y", 404, 0.1, None, None, "127.0.0.1")
    journal.add(3.0, "GET", "/z?apiKey=k", 200, 0.1, "acc", "vats", "127.0.0.1")
    entries = journal.entries()
    assert [(e.id, e.path) for e in entries] == [(2, "/y"), (3, "/z?apiKey=***")]
    assert [e.id for e in journal.entries("acc")] == [3]
    assert journal.entries(limit=1)[0].to_json()["at"] == "1970-01-01T00:00:03Z"
    journal.clear("acc")
    assert [e.id for e in journal.entries()] == [2]
