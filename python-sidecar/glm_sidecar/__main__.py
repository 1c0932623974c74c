"""Entry point: `python -m glm_sidecar --shell ENDPOINT --control ENDPOINT --model-dir DIR ...`."""
from __future__ import annotations

import argparse
import os
import signal
import sys

# Absolute imports here: MindSpore's compile cache parses this entry script and cannot resolve relative ones.
from glm_sidecar import partial_files
from glm_sidecar.engine.native.kernels.build import sleep_idle_omp_threads
from glm_sidecar.server import SidecarServer

# Before any engine imports MindSpore (--engine auto tries MindFormers first), which loads libgomp: it reads
# OMP_WAIT_POLICY only then, and the CPU kernels' idle threads should sleep (kernels/build.py).
sleep_idle_omp_threads()


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="glm_sidecar", description="glm-chat's MindSpore sidecar")
    parser.add_argument("--shell", required=True, help="ZeroMQ endpoint for requests and streamed tokens")
    parser.add_argument("--control", required=True, help="ZeroMQ endpoint for interrupt and shutdown")
    parser.add_argument("--heartbeat", default=None, help="ZeroMQ endpoint whose pings are echoed back")
    parser.add_argument("--model-dir", default=".")
    parser.add_argument("--engine", choices=("auto", "mindformers", "native", "fake"), default="auto",
                        help="auto: MindFormers' GLM-6B where it exists and loads, else the native engine")
    parser.add_argument("--device-target", choices=("Ascend", "GPU", "CPU"), default="CPU")
    parser.add_argument("--device-id", type=int, default=0)
    parser.add_argument("--seq-length", type=int, default=None)
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument("--compile-cache", default=None,
                        help="directory for MindSpore's compile cache (native engine); empty to turn it off")
    parser.add_argument("--precision", choices=("auto", "float32", "float16", "int8", "int4"), default="auto",
                        help="native engine weights (auto: float16 on Ascend/GPU, float32 on CPU; int8/int4: a "
                             "quantized copy of the checkpoint, made once; Ascend/GPU decode each matrix in the graph)")
    parser.add_argument("--tokenizer-only", action="store_true",
                        help="load only the tokenizer (token counts for --dry-run); generate requests fail")
    parser.add_argument("--quantize-only", choices=("int8", "int4"), default=None,
                        help="only make the quantized copy of glm_6b.ckpt (glm-chat quantize); generate requests fail")
    parser.add_argument("--fake-token-delay", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--fake-load-delay", type=float, default=0.0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def build_engine(args):
    if args.engine == "fake":
        from glm_sidecar.engine.fake_engine import FakeEngine
        return FakeEngine(token_delay_s=args.fake_token_delay, load_delay_s=args.fake_load_delay)
    if args.quantize_only:
        from glm_sidecar.engine.quantize_only_engine import QuantizeOnlyEngine
        return QuantizeOnlyEngine(args.model_dir, args.quantize_only)
    from glm_sidecar.engine.mindformers_engine import MindFormersEngine
    from glm_sidecar.engine.native_engine import NativeEngine

    def mindformers():
        return MindFormersEngine(args.model_dir, args.device_target, args.device_id, args.seq_length,
                                 tokenizer_only=args.tokenizer_only,
                                 precision=args.precision if args.engine == "mindformers" else None)

    def native():
        return NativeEngine(args.model_dir, args.device_target, args.device_id, args.seq_length,
                            tokenizer_only=args.tokenizer_only, compile_cache_dir=args.compile_cache or None,
                            precision=None if args.precision == "auto" else args.precision)

    if args.engine == "mindformers":
        return mindformers()
    if args.engine == "native" or args.tokenizer_only:  # auto here: MindFormers is not needed to count
        return native()  # its SentencePiece tokenizer gives MindFormers' ids without importing either library
    from glm_sidecar.engine.auto_engine import AutoEngine
    return AutoEngine(mindformers, native)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    key_hex = os.environ.pop("GLM_CHAT_KEY", "")
    if not key_hex:
        sys.stderr.write("glm_sidecar: GLM_CHAT_KEY is not set; the sidecar is started by glm-chat\n")
        return 2
    server = SidecarServer(build_engine(args), args.shell, args.control, bytes.fromhex(key_hex), args.parent_pid,
                           args.heartbeat)
    # SIGTERM (the supervisor's second ask) winds down like a shutdown request; a terminal's Ctrl+C reaches the
    # sidecar too (same process group) and ends it quietly, with 130. Either way no partial file is left behind.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: server.stopping.set())
    try:
        code = server.run()
    except KeyboardInterrupt:
        code = 130
    partial_files.remove_all()
    # Leave without the interpreter's normal shutdown: terminating the ZeroMQ context there waits for
    # sockets still held by daemon threads (the heartbeat proxy, a worker inside a graph) and can hang.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
