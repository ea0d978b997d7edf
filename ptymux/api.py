"""A small typed Python client for ptymux, on the same protocol code the CLI uses.

    from ptymux.api import Server

    server = Server()                          # the default server (-L/-S: label=, socket=)
    job = server.new(["make", "-j4"], name="build")
    job.send_keys("y", "Enter")
    print(job.capture(start=-100))
    status = job.wait()                        # 0, or 128 + N for signal N
    for s in server.sessions():
        print(s.id, s.name, s.info.current_command)

Every call is one short request on its own connection, as one CLI command is; the CLI's
commands (``ptymux/commands/``) call these same methods. Errors are ``PtymuxError`` with the
one-line message the CLI prints and its exit status (``code``).

Why no async variant: each call is one request of a few milliseconds (``wait`` aside), and
the client is a plain blocking socket, so an asyncio program is best served by
``await asyncio.to_thread(session.wait)`` rather than a second implementation to keep in step.
"""

from __future__ import annotations

from ptymux import protocol as p
from ptymux.client.connection import ClientError, Connection, NoServer, connect, starting_point
from ptymux.paths import PathError, ServerPaths, resolve


class PtymuxError(Exception):
    """What the CLI would print as ``ptymux: MESSAGE``; ``code`` is its exit status (1 for a
    runtime error, 2 for a usage error)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class Session:
    """A session, as ``ls`` saw it (``info``); methods act on it by id."""

    def __init__(self, server: Server, info: p.SessionInfo) -> None:
        self.server = server
        self.info = info

    @property
    def id(self) -> int:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def target(self) -> str:
        return f"${self.info.id}"

    def send_keys(self, *keys: str, literal: bool = False, hex: bool = False) -> None:
        self.server.send_keys(self.target, list(keys), literal=literal, hex=hex)

    def capture(self, start: int | None = None, end: int | None = None,
                escapes: bool = False, join: bool = False) -> str:
        return self.server.capture(self.target, start, end, escapes, join)

    def wait(self) -> int:
        return self.server.wait(self.target)

    def kill(self) -> None:
        self.server.kill_session(self.target)

    def rename(self, name: str) -> None:
        self.server.rename_session(self.target, name)
        self.info = self.info._replace(name=name)

    def __repr__(self) -> str:
        return f"Session(id={self.id}, name={self.name!r})"


class Server:
    """The server named by ``label`` (``-L``) or ``socket`` (``-S``), default the user's;
    with ``host`` (``-H``, ``"[user@]host[:port]"``) that server on another host, over
    ssh (docs/remote.md): each call is then one ssh connection."""

    def __init__(self, label: str | None = None, socket: str | None = None,
                 paths: ServerPaths | None = None, host: str | None = None) -> None:
        try:
            self.paths = paths or resolve(label, socket, host)
            if self.paths.host:
                from ptymux.client.remote import parse_host

                parse_host(self.paths.host)
        except (PathError, ClientError) as e:
            raise PtymuxError(str(e), getattr(e, "code", 1)) from None
        # what the last server this object talked to said it runs ("ptymux 0.1.0"), for
        # the note that it differs from this client's
        self.server_software = ""

    def _connect(self, start: bool = False) -> Connection:
        try:
            conn = connect(self.paths, start=start)
        except ClientError as e:
            raise PtymuxError(str(e), e.code) from None
        self.server_software = conn.server_software
        return conn

    def _request(self, args: p.Message, start: bool = False,
                 timeout: float | None = 30.0) -> p.Message:
        conn = self._connect(start)
        try:
            return conn.request(args, timeout=timeout)
        except ClientError as e:
            raise PtymuxError(str(e), e.code) from None
        finally:
            conn.close()

    # --- sessions ---------------------------------------------------------------------------

    def listing(self, ended: bool = False) -> p.SessionList:
        """``ls`` (``ended``: ``ls -a``): with no server, what ended before it went."""
        try:
            # (-H: the statuses are kept on that host, where only a server can read them:
            # ls -a starts one there, which exits soon after if no session comes)
            result = self._request(p.ListSessions(ended=ended),
                                   start=ended and bool(self.paths.host))
        except PtymuxError:
            # (asked again, not judged from the error: a server on its way out closes the
            # connection without saying so, and is gone a moment later)
            if not ended or self.paths.host or self.running():
                raise
            from ptymux import statuses

            return p.SessionList(sessions=[], ended=statuses.read(self.paths.status))
        assert isinstance(result, p.SessionList)
        return result

    def sessions(self) -> list[Session]:
        try:
            return [Session(self, info) for info in self.listing().sessions]
        except PtymuxError:
            if self.running():
                raise
            return []  # no server (or one just exiting): no sessions

    def session(self, target: str) -> Session:
        """The session ``target`` names (tmux's rules: id, name, prefix, pattern)."""
        info = self._request(p.HasSession(target=target))
        assert isinstance(info, p.SessionInfo)
        return Session(self, info)

    def new(self, command: list[str] | None = None, name: str | None = None,
            cwd: str | None = None, env: dict[str, str] | None = None, cols: int = 80,
            rows: int = 24, history: int | None = None, log: str | None = None,
            term: str = "xterm-256color") -> Session:
        """A detached session (starting the server if needed). ``env`` is added to this
        process's environment, as ``new -e`` does; on another host (``host``) to the
        environment a login there gets, and ``cwd`` is then from the home there (by
        default the home), as ``ptymux -H HOST new`` does."""
        remote = bool(self.paths.host)
        base, here = starting_point(remote)
        environment = {**base, **(env or {}), "TERM": term}
        result = self._request(p.NewSession(
            argv=list(command or []), cwd=cwd or here,
            env=environment, cols=cols, rows=rows, name=name, history=history,
            detached=True, log=log, remote=remote,
        ), start=True)
        assert isinstance(result, p.Created)
        # (from the reply, not another request: a program that ends at once may have taken
        # its server with it)
        return Session(self, p.SessionInfo(id=result.id, name=result.name,
                                           command=result.command, cols=cols, rows=rows,
                                           created=result.created, attached=0,
                                           pid=result.pid))

    def has_session(self, target: str) -> bool:
        """Whether ``target`` names a session (False with no server too)."""
        try:
            self._request(p.HasSession(target=target))
        except PtymuxError as e:
            if e.code == 2:
                raise
            return False
        return True

    def kill_session(self, target: str) -> None:
        self._request(p.KillSession(target=target))

    def rename_session(self, target: str, name: str) -> None:
        self._request(p.RenameSession(target=target, name=name))

    def clients(self, target: str | None = None) -> list[p.ClientInfo]:
        """The attached clients (of session ``target``, else of every session)."""
        result = self._request(p.ListClients(target=target))
        assert isinstance(result, p.ClientList)
        return result.clients

    def detach_client(self, target: str | None = None, client: int | None = None) -> None:
        """Detach client ``client`` (its id in ``clients()``), or every client of session
        ``target``."""
        self._request(p.DetachClient(target=target, client=client))

    def set_size_policy(self, target: str, policy: str) -> None:
        """``latest``, ``smallest`` or ``largest``: how session ``target`` takes its size
        from its clients' sizes."""
        self._request(p.SetSizePolicy(target=target, policy=policy))

    def send_keys(self, target: str | None, keys: list[str], literal: bool = False,
                  hex: bool = False) -> None:
        self._request(p.SendKeys(target=target, keys=keys, literal=literal, hex=hex))

    def capture(self, target: str | None = None, start: int | None = None,
                end: int | None = None, escapes: bool = False, join: bool = False) -> str:
        result = self._request(p.Capture(target=target, start=start, end=end,
                                         escapes=escapes, join=join), timeout=120.0)
        assert isinstance(result, p.CaptureResult)
        return result.text

    def wait(self, target: str) -> int:
        """Block until the session's program exits; its status (128 + N for signal N). Also
        after it ended, and after its end stopped the server (``ptymux.statuses``)."""
        from ptymux import statuses

        try:
            # (-H: a status kept on that host is read by its server: started if need be)
            conn = connect(self.paths, start=bool(self.paths.host))
            try:
                result = conn.request(p.Wait(target=target), timeout=None)
            finally:
                conn.close()
        except NoServer:
            ended = statuses.take(self.paths.status, target)
            if ended is None:
                raise PtymuxError(f"can't find session: {target}") from None
            return statuses.exit_code(ended.status, ended.signal)
        except ClientError as e:
            # The server may have been on its way out (its last session just ended, the
            # status already kept), closing the connection before its hello or its answer:
            # what it kept answers.
            ended = None if e.code == 2 or self.paths.host else statuses.take(
                self.paths.status, target)
            if ended is None:
                raise PtymuxError(str(e), e.code) from None
            return statuses.exit_code(ended.status, ended.signal)
        assert isinstance(result, p.WaitResult)
        return statuses.exit_code(result.status, result.signal)

    # --- the server -------------------------------------------------------------------------

    def running(self) -> bool:
        try:
            connect(self.paths).close()
        except ClientError:
            return False
        return True

    def upgrade(self) -> p.UpgradeResult:
        """upgrade-server: the server re-executes itself as the installed ptymux, keeping
        its sessions; the answer comes from the new code (docs/upgrade.md)."""
        result = self._request(p.UpgradeServer(), timeout=120.0)
        assert isinstance(result, p.UpgradeResult)
        return result

    def server_info(self) -> p.ServerInfoResult:
        result = self._request(p.ServerInfo())
        assert isinstance(result, p.ServerInfoResult)
        return result

    def kill(self) -> None:
        """kill-server; returns once the server is gone."""
        import time

        conn = self._connect()
        try:
            conn.request(p.KillServer())
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    conn.receive(timeout=deadline - time.monotonic())
                except ClientError:
                    break
        except ClientError as e:
            raise PtymuxError(str(e), e.code) from None
        finally:
            conn.close()


__all__ = ["PtymuxError", "Server", "Session"]
