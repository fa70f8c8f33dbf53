#!/usr/bin/env python3
"""PyTorch benchmark (CPU, or the GPU with --device cuda) of the t2igan GAN-CLS networks (counterpart of the C++ bench-gan).

Measures, for one architecture:
  * one full GAN-CLS training iteration (G forward, D step on real/wrong/fake, G step; Adam),
    wall time per iteration: median and best over --iters after --warmup;
  * generator inference (G.eval(), no_grad) at the same batch: images per second (median);
  * peak resident memory of the process (ru_maxrss).

stdout: exactly one tab-separated line
  bench  impl=pytorch  backend=cpu|cuda  arch=..  batch=..  threads=..  iter_median_s=..  iter_best_s=..
  gen_images_per_s=..  peak_rss_mib=..
stderr: human-readable progress: torch version, mkldnn, threads, the BLAS libraries loaded, and
how many cores other processes used meanwhile (the machine is shared and noisy).

Debian's torch links libblas.so.3, which is netlib's reference BLAS unless OpenBLAS is selected;
its ConvTranspose2d (im2col + gemm) is then ~10x slower. For a fair baseline put OpenBLAS first,
e.g. LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp (package libopenblas0-openmp);
tests/torch/run-bench-compare does this by itself when that directory exists.

  /usr/bin/python3 tests/torch/bench_gan.py --arch plain|v2 [--ngf N] [--ndf 64] [--batch 64]
                   [--threads 2] [--iters 5] [--warmup 2] [--seed 0] [--flush-denormal]
                   [--device cpu|cuda] [--tf32] [--profile]

--device cuda runs the same networks on the GPU (weights initialised on the CPU from the same
seed, then moved); times include a torch.cuda.synchronize(). TF32 is off for both matmul and
cuDNN convolutions unless --tf32 (PyTorch enables it for cuDNN by default), to compare float32
math with the t2igan cuda backend, whose TF32 is off unless T2I_CUDA_TF32=1. peak_rss_mib is
then the peak CUDA memory allocated by PyTorch.
"""
import argparse
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from t2i_nets import Discriminator, Generator, init_weights  # noqa: E402

Z_DIM, EMB_DIM, PROJ_DIM = 100, 1024, 128


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loaded_blas():
    """Shared BLAS/LAPACK libraries mapped into this process (Debian's torch links libblas.so.3,
    which is netlib's reference BLAS unless OpenBLAS is selected or put on LD_LIBRARY_PATH)."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path)
                if any(k in base for k in ("blas", "lapack", "mkl_", "libdnnl", "blis")):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


class ForeignLoad:
    """CPU time used on the machine by processes other than this one over an interval, in
    cores (from /proc/stat minus this process's os.times()): the machine is shared and noisy."""

    def __init__(self):
        self.t0, self.busy0, self.own0 = time.perf_counter(), self._busy(), self._own()

    @staticmethod
    def _busy():
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
            return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle, iowait
        except (OSError, ValueError, IndexError):
            return None

    @staticmethod
    def _own():
        t = os.times()
        return t.user + t.system

    def cores(self):
        busy = self._busy()
        if busy is None or self.busy0 is None:
            return None
        dt = time.perf_counter() - self.t0
        return max(0.0, (busy - self.busy0) - (self._own() - self.own0)) / dt if dt > 0 else None


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(target)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=("plain", "v2"), default="plain")
    ap.add_argument("--ngf", type=int, default=None, help="default 64 for plain, 128 for v2")
    ap.add_argument("--ndf", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--flush-denormal", action="store_true", help="torch.set_flush_denormal(True) (off by default)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--tf32", action="store_true", help="with --device cuda: allow TF32 tensor-core math")
    ap.add_argument("--profile", action="store_true",
                    help="after timing, three more training iterations under torch.profiler: the kernels by "
                         "device time on stderr (where the time goes, beside bench-gan --layers)")
    a = ap.parse_args()
    if a.ngf is None:
        a.ngf = 64 if a.arch == "plain" else 128
    if a.iters < 1 or a.warmup < 0 or a.batch < 2 or a.threads < 1:
        ap.error("need --iters >= 1, --warmup >= 0, --batch >= 2, --threads >= 1")

    if a.device == "cuda":
        if not torch.cuda.is_available():
            log("bench_gan.py: --device cuda but this PyTorch has no usable CUDA (torch %s, built with CUDA %s)" % (
                torch.__version__, torch.version.cuda))
            return 3
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
        torch.backends.cudnn.benchmark = True
        log("device: %s, CUDA %s, cuDNN %s, tf32 %s" % (torch.cuda.get_device_name(0), torch.version.cuda,
                                                        torch.backends.cudnn.version(), "on" if a.tf32 else "off"))
    dev = torch.device(a.device)

    def sync():
        if a.device == "cuda":
            torch.cuda.synchronize()

    torch.set_num_threads(a.threads)
    if a.flush_denormal and not torch.set_flush_denormal(True):
        log("warning: flush-denormal not supported on this CPU")
    log("torch %s, mkldnn available: %s, threads: %d (interop %d)" % (
        torch.__version__, torch.backends.mkldnn.is_available(), torch.get_num_threads(),
        torch.get_num_interop_threads()))
    log("blas: %s" % (" ".join(loaded_blas()) or "unknown"))
    log("flush denormal: %s" % ("on" if a.flush_denormal else "off"))
    log("arch=%s ngf=%d ndf=%d batch=%d z=%d emb=%d proj=%d iters=%d warmup=%d" % (
        a.arch, a.ngf, a.ndf, a.batch, Z_DIM, EMB_DIM, PROJ_DIM, a.iters, a.warmup))

    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    G = Generator(Z_DIM, EMB_DIM, PROJ_DIM, a.ngf, a.arch)
    D = Discriminator(EMB_DIM, PROJ_DIM, a.ndf, a.arch)
    with torch.no_grad():
        init_weights(G, gen)
        init_weights(D, gen)
    G.to(dev)
    D.to(dev)
    G.train()
    D.train()
    optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

    B = a.batch
    x = torch.rand(B, 3, 64, 64, generator=gen) * 2 - 1
    h = torch.randn(B, EMB_DIM, generator=gen)
    h_wrong = torch.randn(B, EMB_DIM, generator=gen)
    z = torch.randn(B, Z_DIM, generator=gen)
    x, h, h_wrong, z = x.to(dev), h.to(dev), h_wrong.to(dev), z.to(dev)

    def train_iter():
        fake = G(z, h)
        # D step
        optD.zero_grad()
        s_r = D(x, h)
        s_w = D(x, h_wrong)
        s_f = D(fake.detach(), h)
        loss_d = bce(s_r, 1) + 0.5 * (bce(s_w, 0) + bce(s_f, 0))
        loss_d.backward()
        optD.step()
        # G step
        optG.zero_grad()
        s_g = D(fake, h)
        loss_g = bce(s_g, 1)
        loss_g.backward()
        optG.step()
        return loss_d.item(), loss_g.item()

    load = ForeignLoad()
    times = []
    for i in range(a.warmup + a.iters):
        sync()
        t0 = time.perf_counter()
        ld, lg = train_iter()
        sync()
        dt = time.perf_counter() - t0
        warm = i < a.warmup
        if not warm:
            times.append(dt)
        log("train %s %d: %.3f s  L_D=%.4f L_G=%.4f" % ("warmup" if warm else "iter", i, dt, ld, lg))

    if a.profile:
        from torch.profiler import profile, ProfilerActivity
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if a.device == "cuda" else [])
        with profile(activities=acts) as prof:
            for _ in range(3):
                train_iter()
            sync()
        key = "self_cuda_time_total" if a.device == "cuda" else "self_cpu_time_total"
        log("three training iterations, by %s:\n%s" % (key, prof.key_averages().table(sort_by=key, row_limit=40)))

    fl = load.cores()
    log("other processes used %s cores on average during training (of %d)" % (
        "?" if fl is None else "%.2f" % fl, os.cpu_count() or 0))
    G.eval()
    load = ForeignLoad()
    rates = []
    with torch.no_grad():
        for i in range(a.warmup + a.iters):
            sync()
            t0 = time.perf_counter()
            img = G(z, h)
            sync()
            dt = time.perf_counter() - t0
            assert img.shape == (B, 3, 64, 64)
            warm = i < a.warmup
            if not warm:
                rates.append(B / dt)
            log("gen %s %d: %.4f s  %.1f images/s" % ("warmup" if warm else "iter", i, dt, B / dt))

    fl = load.cores()
    log("other processes used %s cores on average during generation" % ("?" if fl is None else "%.2f" % fl))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    if a.device == "cuda":
        peak_mib = torch.cuda.max_memory_allocated() / 2.0**20
    fields = [
        "bench", "impl=pytorch", "backend=%s" % a.device, "arch=%s" % a.arch, "batch=%d" % B, "threads=%d" % a.threads,
        "iter_median_s=%.4f" % statistics.median(times), "iter_best_s=%.4f" % min(times),
        "gen_images_per_s=%.1f" % statistics.median(rates), "peak_rss_mib=%.0f" % peak_mib,
    ]
    print("\t".join(fields), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
