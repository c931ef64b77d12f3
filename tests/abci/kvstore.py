#!/usr/bin/env python3
"""A key-value ABCI 2.0 application, written from CometBFT v0.38's ABCI specification
(not from bftcore's code): what a team would run on CometBFT, to run unchanged behind
`bft-node --abci`.

    kvstore.py --listen unix:///tmp/app.sock   (or tcp://127.0.0.1:26658)
               [--misbehave METHOD:KIND[@HEIGHT]]

Transactions are `key=value` (as CometBFT's kvstore), or bftcore's key-value command
`set key value`, so that bft-cluster's load runs against it; anything else is refused with
code 1 by CheckTx and ProcessProposal, and fails with code 1 in FinalizeBlock. Query: data is the
key, the path is not looked at; code 0 and the value, or code 1. The app hash is 8 bytes
(as CometBFT's kvstore's is): the start of the SHA-256 of the sorted state. State is kept
in memory only: a restarted application reports height 0, and the node replays its blocks.

--misbehave makes it fail on purpose for the robustness tests: when METHOD (e.g.
FinalizeBlock; at HEIGHT if given) arrives, answer with KIND: close (close the socket),
garbage (a malformed frame), wrong_type (an Echo answer), exception (ResponseException),
hang (never answer).

The Python modules come from bftcore's .proto files (protoc --python_out, at build time):
set PYTHONPATH to that directory.
"""
import argparse
import hashlib
import os
import socket
import socketserver
import sys
import threading
import time

from tendermint.abci import types_pb2 as abci

MAX_FRAME = 64 << 20


def read_varint(stream):
    """The next unsigned varint, or None at a clean end of stream."""
    value, shift = 0, 0
    while True:
        byte = stream.read(1)
        if not byte:
            if shift == 0:
                return None
            raise EOFError("the stream ended inside a length")
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
        shift += 7
        if shift >= 64:
            raise ValueError("a length longer than 64 bits")


def write_varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def frame(message):
    body = message.SerializeToString()
    return write_varint(len(body)) + body


def parse_tx(tx):
    """(key, value) of a `key=value` or `set key value` transaction, or None."""
    if tx.startswith(b"set "):
        key, sep, value = tx[4:].partition(b" ")
        return (key, value) if sep and key else None
    key, sep, value = tx.partition(b"=")
    if not sep or not key:
        return None
    return key, value


class KvStore:
    def __init__(self, misbehave):
        self.lock = threading.Lock()
        self.committed = {}   # what Query and CheckTx read
        self.pending = None   # after FinalizeBlock, until Commit
        self.height = 0
        self.app_hash = self.hash_of({})
        self.misbehave = misbehave  # (method, kind, height or None)

    @staticmethod
    def hash_of(state):
        digest = hashlib.sha256()
        for key in sorted(state):
            digest.update(write_varint(len(key)) + key + write_varint(len(state[key])) + state[key])
        return digest.digest()[:8]

    def fault_for(self, method, height):
        if not self.misbehave:
            return None
        name, kind, at = self.misbehave
        if name != method or (at is not None and height != at):
            return None
        return kind

    def handle(self, request):
        """The Response to a Request, and the request's method name."""
        kind = request.WhichOneof("value")
        response = abci.Response()
        # A response whose fields are all defaults must still say which one it is.
        getattr(response, kind).SetInParent()
        if kind == "echo":
            response.echo.message = request.echo.message
        elif kind == "flush":
            pass  # answered in order already: every response is written as it is made
        elif kind == "info":
            with self.lock:
                response.info.data = "python kvstore"
                response.info.version = "1.0.0"
                response.info.app_version = 1
                response.info.last_block_height = self.height
                if self.height > 0:
                    response.info.last_block_app_hash = self.app_hash
        elif kind == "init_chain":
            with self.lock:
                self.app_hash = self.hash_of(self.committed)
                response.init_chain.app_hash = self.app_hash
        elif kind == "check_tx":
            if parse_tx(request.check_tx.tx) is None:
                response.check_tx.code = 1
                response.check_tx.log = "expected key=value"
        elif kind == "prepare_proposal":
            used = 0
            for tx in request.prepare_proposal.txs:
                if used + len(tx) > request.prepare_proposal.max_tx_bytes:
                    break
                used += len(tx)
                response.prepare_proposal.txs.append(tx)
        elif kind == "process_proposal":
            valid = all(parse_tx(tx) is not None for tx in request.process_proposal.txs)
            response.process_proposal.status = (abci.ResponseProcessProposal.ACCEPT if valid
                                                else abci.ResponseProcessProposal.REJECT)
        elif kind == "finalize_block":
            with self.lock:
                state = dict(self.committed)
                for tx in request.finalize_block.txs:
                    result = response.finalize_block.tx_results.add()
                    parsed = parse_tx(tx)
                    if parsed is None:
                        result.code = 1
                        result.log = "expected key=value"
                        continue
                    state[parsed[0]] = parsed[1]
                self.pending = (request.finalize_block.height, state)
                response.finalize_block.app_hash = self.hash_of(state)
        elif kind == "commit":
            with self.lock:
                if self.pending is None:
                    raise RuntimeError("Commit without FinalizeBlock")
                self.height, self.committed = self.pending
                self.app_hash = self.hash_of(self.committed)
                self.pending = None
        elif kind == "query":
            with self.lock:
                key = request.query.data
                response.query.key = key
                response.query.height = self.height
                if key in self.committed:
                    response.query.value = self.committed[key]
                else:
                    response.query.code = 1
                    response.query.log = "not found"
        else:
            raise RuntimeError("unexpected request " + str(kind))
        return response


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        app = self.server.app
        names = {"echo": "Echo", "flush": "Flush", "info": "Info", "init_chain": "InitChain",
                 "query": "Query", "check_tx": "CheckTx", "commit": "Commit",
                 "prepare_proposal": "PrepareProposal", "process_proposal": "ProcessProposal",
                 "finalize_block": "FinalizeBlock"}
        while True:
            length = read_varint(self.rfile)
            if length is None:
                return
            if length > MAX_FRAME:
                raise ValueError("a frame of %d bytes" % length)
            body = self.rfile.read(length)
            request = abci.Request()
            request.ParseFromString(body)
            kind = request.WhichOneof("value")
            height = getattr(request, kind).height if kind in ("finalize_block", "process_proposal",
                                                                "prepare_proposal") else None
            fault = app.fault_for(names.get(kind, ""), height)
            if fault == "close":
                return
            if fault == "garbage":
                self.wfile.write(b"\xff" * 11)
                self.wfile.flush()
                continue
            if fault == "hang":
                time.sleep(3600)
            if fault == "wrong_type":
                response = abci.Response()
                response.echo.message = "not what you asked for"
            elif fault == "exception":
                response = abci.Response()
                response.exception.error = "told to fail"
            else:
                try:
                    response = app.handle(request)
                except Exception as error:  # the spec's way to report a failure
                    response = abci.Response()
                    response.exception.error = str(error)
            self.wfile.write(frame(response))
            if kind == "flush":
                self.wfile.flush()


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="unix:///path or tcp://host:port")
    parser.add_argument("--misbehave", help="METHOD:KIND[@HEIGHT]")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="exit when the process that started it ends (bft-node-with-kvstore.sh)")
    args = parser.parse_args()
    if args.exit_with_parent:
        parent = os.getppid()

        def watch_parent():
            while os.getppid() == parent:
                time.sleep(0.2)
            os._exit(0)

        threading.Thread(target=watch_parent, daemon=True).start()
    misbehave = None
    if args.misbehave:
        method, _, rest = args.misbehave.partition(":")
        kind, _, at = rest.partition("@")
        misbehave = (method, kind, int(at) if at else None)
    if args.listen.startswith("unix://"):
        path = args.listen[len("unix://"):]
        if os.path.exists(path):
            os.unlink(path)
        server = UnixServer(path, Handler)
    elif args.listen.startswith("tcp://"):
        host, _, port = args.listen[len("tcp://"):].rpartition(":")
        server = TcpServer((host, int(port)), Handler)
    else:
        sys.exit("kvstore: --listen must be unix:///path or tcp://host:port")
    server.app = KvStore(misbehave)
    print("kvstore: listening on", args.listen, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
