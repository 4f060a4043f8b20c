"""What the application benchmarks share: the launcher environment, round-robin timing
(so a machine's drift hits every command alike) and the header line naming the machine."""
import os
import platform
import statistics
import subprocess
import time

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def tally_binary(root):
    return os.path.join(root, "build", "release", "src", "app", "tally")


def wall(cmd):
    """Wall seconds of one command, which must succeed; its output is discarded."""
    t0 = time.perf_counter()
    subprocess.run(cmd, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def interleaved(commands, repeats, timer=wall):
    """Median of each command's times, the commands run round-robin `repeats` times."""
    times = {name: [] for name in commands}
    for _ in range(repeats):
        for name, cmd in commands.items():
            times[name].append(timer(cmd))
    return {name: statistics.median(v) for name, v in times.items()}


def machine_line(title):
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               "?")
    return (f"# {title} {time.strftime('%Y-%m-%d %H:%M')}  cpu: {cpu}  cores: {os.cpu_count()}  "
            f"{platform.platform()}  load: {os.getloadavg()[0]:.2f}")
