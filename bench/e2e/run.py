#!/usr/bin/env python3
"""The end-to-end benchmark of weir: one command, one machine, one run.

    python3 bench/e2e/run.py [--build build-rel] [--parts throughput,latency,replay,footprint,soak]

Parts (each prints its own table; all of them together at the end, as Markdown):
  throughput  mosquitto on loopback with unlimited queues; the ceiling (a plain libmosquitto
              subscriber that only counts, bench/e2e/count_sub.cpp, receiving what weir-sim
              publishes at full speed), then weir with the realistic pipeline
              (bench/e2e/realistic.json) under the same load; QoS 0 and QoS 1, 1,000 devices.
  latency     the pass-through pipeline (bench/e2e/passthrough.json) at half the QoS 1
              ceiling (and at a quarter, --latency-fractions); weir-sim stamps the send time, the subscriber of weir's output takes
              publish-to-receipt times. The same load straight to the subscriber (broker
              only) is measured first, for comparison.
  replay      `weir replay` of 10,000,000 generated readings from 1,000 devices with the
              realistic pipeline to /dev/null; and instructions per reading counted by
              callgrind over 100,000 of them.
  footprint   peak RSS idle with one pipeline; peak RSS with 100,000 devices in one window;
              size of the stripped weir binary.
  soak        weir under a steady load for --soak-minutes (default 10); RSS every 10 s;
              minute 10 against minute 1.

Standard library only. Every process it starts listens on or connects to 127.0.0.1 and is
stopped at the end, also on Ctrl-C. Results are written as JSON to --out (a directory).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")

procs = []  # every process started, stopped at exit


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args, **kw):
    p = subprocess.Popen(args, **kw)
    procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=30):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def stop_all():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def proc_mem_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmHWM:", "VmRSS:")):
                k, v = line.split(":")
                out[k] = int(v.split()[0])
    return out


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


class Broker:
    """mosquitto on 127.0.0.1 with unlimited queues and in-flight windows."""

    def __init__(self, workdir):
        self.port = free_port()
        conf = os.path.join(workdir, f"mosquitto-{self.port}.conf")
        with open(conf, "w") as f:
            f.write(
                "persistence false\n"
                "max_queued_messages 0\n"
                "max_queued_bytes 0\n"
                "max_inflight_messages 0\n"
                "set_tcp_nodelay true\n"
                "log_type error\n"
                "log_type warning\n"
                f"listener {self.port} 127.0.0.1\n"
                "allow_anonymous true\n"
            )
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = start([mosquitto, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def close(self):
        stop(self.proc)


class Weir:
    """weir run with a config from bench/e2e/, its stats line read every 100 ms."""

    def __init__(self, build, workdir, template, port, client_id="weir-bench", stats_ms=100, patch=None):
        with open(os.path.join(HERE, template)) as f:
            cfg = json.load(f)
        for c in cfg["connections"].values():
            c["port"] = port
            c["clientId"] = client_id
            c["cleanSession"] = True
        cfg.setdefault("engine", {})["statsIntervalMs"] = stats_ms
        cfg["engine"]["queueCapacity"] = 10000
        if patch:
            patch(cfg)
        self.config = os.path.join(workdir, f"{template}.{port}.json")
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=1)
        self.messages = 0  # the latest "messages=" count from the stats line
        self.full_waits = 0  # times the MQTT thread found the queue full (weir was the bottleneck)
        self.progress = []  # (monotonic time, messages)
        self.running = threading.Event()
        self.lines = []
        self.proc = start([os.path.join(build, "src/app/weir"), "run", "-c", self.config],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.running.wait(20):
            raise RuntimeError("weir did not start:\n" + "".join(self.lines[-20:]))
        time.sleep(0.5)  # SUBACK

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            if "weir running" in line:
                self.running.set()
            w = re.search(r"queue_full_waits=(\d+)", line)
            if w:
                self.full_waits += int(w.group(1))
            m = re.search(r"stats: messages=(\d+)", line)
            if m:
                self.messages = int(m.group(1))
                self.progress.append((time.monotonic(), self.messages))

    def wait_for(self, n, stall_s=10.0):
        """Waits until weir has taken n messages or made no progress for stall_s; returns
        the monotonic time it reached n (or None)."""
        last_n, last_change = -1, time.monotonic()
        while True:
            if self.messages >= n:
                for t, m in self.progress:
                    if m >= n:
                        return t
            if self.messages != last_n:
                last_n, last_change = self.messages, time.monotonic()
            elif time.monotonic() - last_change > stall_s:
                return None
            time.sleep(0.05)

    def first_progress(self):
        """Monotonic time of the first stats line with messages > 0, less one interval."""
        for t, m in self.progress:
            if m > 0:
                return t - 0.1
        return None

    def cpu_s(self):
        return proc_cpu_s(self.proc.pid)

    def mem_kb(self):
        return proc_mem_kb(self.proc.pid)

    def close(self):
        stop(self.proc)
        self.reader.join(5)
        return self.proc.returncode


class Subscriber:
    def __init__(self, build, workdir, port, topic, qos, **opts):
        ready = os.path.join(workdir, f"ready-{free_port()}")
        args = [os.path.join(build, "bench/weir_count_sub"), "--port", str(port), "--topic", topic,
                "--qos", str(qos), "--ready-file", ready, "--client-id", f"count-{os.path.basename(ready)}"]
        for k, v in opts.items():
            flag = "--" + k.replace("_", "-")
            args += [flag] if v is True else [flag, str(v)]
        self.proc = start(args, stdout=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while not os.path.exists(ready):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("weir_count_sub did not subscribe")
            time.sleep(0.02)

    def result(self, timeout=900):
        out, _ = self.proc.communicate(timeout=timeout)
        return json.loads(out.strip().splitlines()[-1])


def run_sim(build, port, **opts):
    args = [os.path.join(build, "src/sim/weir-sim"), "--port", str(port)]
    for k, v in opts.items():
        flag = "--" + k.replace("_", "-")
        args += [flag] if v is True else [flag, str(v)]
    t0 = time.monotonic()
    p = start(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, err = p.communicate()
    t1 = time.monotonic()
    if p.returncode != 0:
        raise RuntimeError(f"weir-sim failed: {err}")
    m = re.search(r"sent (\d+) readings .* in ([\d.]+) s \((\d+) msg/s\)", err)
    return {"sent": int(m.group(1)), "seconds": float(m.group(2)), "rate": float(m.group(3)),
            "end": t1, "start": t0}


def part_throughput(a, work, results):
    rows = []
    for qos in a.qos:
        broker = Broker(work)
        try:
            n = a.count
            log(f"QoS {qos}: ceiling, {n} readings from {a.devices} devices")
            sub = Subscriber(a.build, work, broker.port, "sensors/#", qos, expect=n, idle_ms=10000)
            sim = run_sim(a.build, broker.port, count=n, devices=a.devices, rate=0, qos=qos,
                          client_id="sim-ceiling")
            ceiling = sub.result()
            log(f"  sim {sim['rate']:.0f} msg/s; subscriber received {ceiling['received']} at {ceiling['rate']:.0f} msg/s")

            variants = [False] + ([True] if qos == 1 and a.journal else [])
            for journal in variants:
                # journal: a "state" section, so every message is journaled before its PUBACK
                # and checkpoints run every second (the crash-safe configuration).
                state_db = os.path.join(work, f"state-{broker.port}.db")
                patch = (lambda cfg: cfg.__setitem__("state", {"path": state_db})) if journal else None
                log(f"QoS {qos}: weir with the realistic pipeline{', journal on' if journal else ''}")
                agg = Subscriber(a.build, work, broker.port, "agg/#", 1, sum_field="n", idle_ms=15000, timeout_ms=1800000)
                w = Weir(a.build, work, "realistic.json", broker.port, patch=patch,
                         client_id="weir-bench-journal" if journal else "weir-bench")
                cpu0 = w.cpu_s()
                sim2 = run_sim(a.build, broker.port, count=n, devices=a.devices, rate=0, qos=qos,
                               client_id="sim-weir-journal" if journal else "sim-weir")
                done_at = w.wait_for(n)
                cpu1 = w.cpu_s()
                mem = w.mem_kb()
                first = w.first_progress()
                processed = w.messages
                rate = processed / (done_at - first) if done_at and first else float("nan")
                lag = (done_at - sim2["end"]) if done_at else float("nan")
                aggregated = agg.result()
                w.close()
                row = {
                    "qos": qos, "journal": journal, "readings": n, "ceiling_sim_rate": sim["rate"],
                    "ceiling_rate": ceiling["rate"], "ceiling_received": ceiling["received"],
                    "input_rate": sim2["rate"], "processed": processed, "processed_rate": rate,
                    "loss": n - processed, "aggregated": aggregated["sum"], "aggregates": aggregated["received"],
                    "lag_s": max(0.0, lag), "cpu_s": cpu1 - cpu0, "queue_full_waits": w.full_waits,
                    "kept_up": processed / n if done_at else float("nan"),
                    "cpu_pct": 100.0 * (cpu1 - cpu0) / max(1e-9, (done_at or time.monotonic()) - sim2["start"]),
                    "peak_rss_kb": mem["VmHWM"], "ratio": rate / ceiling["rate"] if ceiling["rate"] else float("nan"),
                }
                log(f"  weir took {processed} at {rate:.0f} msg/s, lag {row['lag_s']:.2f} s, "
                    f"{row['cpu_pct']:.0f}% CPU, peak RSS {mem['VmHWM']} kB; "
                    f"windows emitted {aggregated['received']} aggregates counting {aggregated['sum']} readings")
                rows.append(row)
        finally:
            broker.close()
    results["throughput"] = rows


def part_latency(a, work, results):
    ceiling = None
    for row in results.get("throughput", []):
        if row["qos"] == 1:
            ceiling = row["ceiling_rate"]
    if ceiling is None:
        ceiling = a.ceiling
    rows = []
    for qos, fraction in [(q, f) for q in a.qos for f in a.latency_fractions]:
        total_rate = ceiling * fraction
        per_device = total_rate / a.devices
        broker = Broker(work)
        try:
            for path in ("broker only", "weir pass-through"):
                log(f"latency QoS {qos}, {path}: {total_rate:.0f} msg/s for {a.latency_seconds} s")
                if path == "broker only":
                    sub = Subscriber(a.build, work, broker.port, "sensors/#", qos, latency=True, idle_ms=5000)
                    w = None
                else:
                    sub = Subscriber(a.build, work, broker.port, "out/#", qos, latency=True, idle_ms=5000)
                    w = Weir(a.build, work, "passthrough.json", broker.port,
                             patch=lambda c: c["pipelines"][0]["pipeline"][-1]["$emit"].__setitem__("qos", qos))
                b0 = proc_cpu_s(broker.proc.pid)
                w0 = w.cpu_s() if w else 0.0
                sim = run_sim(a.build, broker.port, devices=a.devices, rate=per_device, qos=qos,
                              duration=a.latency_seconds, stamp=True, client_id="sim-latency")
                span = sim["end"] - sim["start"]
                broker_cpu = 100.0 * (proc_cpu_s(broker.proc.pid) - b0) / span
                weir_cpu = 100.0 * (w.cpu_s() - w0) / span if w else None
                r = sub.result()
                mem = w.mem_kb() if w else None
                if w:
                    w.close()
                lat = r["latencyUs"]
                row = {"qos": qos, "fraction": fraction, "path": path, "rate": sim["rate"], "received": r["received"], "sent": sim["sent"],
                       "p50_ms": lat["p50"] / 1000, "p99_ms": lat["p99"] / 1000, "p999_ms": lat["p999"] / 1000,
                       "max_ms": lat["max"] / 1000, "peak_rss_kb": mem["VmHWM"] if mem else None,
                       "broker_cpu_pct": broker_cpu, "weir_cpu_pct": weir_cpu}
                log(f"  sent {sim['sent']} at {sim['rate']:.0f}/s, received {r['received']}: p50 {row['p50_ms']:.2f} ms, "
                    f"p99 {row['p99_ms']:.2f} ms, max {row['max_ms']:.2f} ms")
                rows.append(row)
        finally:
            broker.close()
    results["latency"] = rows


def time_cmd(args, stdout):
    """Runs args under /usr/bin/time; returns (wall s, user s, sys s, max RSS kB)."""
    fmt = "%e %U %S %M"
    p = subprocess.run(["/usr/bin/time", "-f", fmt] + args, stdout=stdout, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {p.stderr[-2000:]}")
    wall, user, sys_, rss = p.stderr.strip().splitlines()[-1].split()
    return float(wall), float(user), float(sys_), int(rss)


def part_replay(a, work, results):
    sim = os.path.join(a.build, "src/sim/weir-sim")
    weir = os.path.join(a.build, "src/app/weir")
    cfg = os.path.join(HERE, "realistic.json")
    big = os.path.join(work, "replay-10m.ndjson")
    log(f"replay: generating {a.replay_count} readings from {a.devices} devices")
    subprocess.run([sim, "--output", big, "--time-mode", "synthetic", "--step-ms", "1000", "--count",
                    str(a.replay_count), "--devices", str(a.devices), "--quiet"], check=True)
    size = os.path.getsize(big)
    subprocess.run(["cat", big], stdout=subprocess.DEVNULL, check=True)  # into the page cache
    runs = []
    for i in range(a.replay_runs):
        with open(os.devnull, "w") as null:
            wall, user, sys_, rss = time_cmd([weir, "replay", "-c", cfg, "-i", big], null)
        runs.append({"wall_s": wall, "user_s": user, "sys_s": sys_, "max_rss_kb": rss,
                     "rate": a.replay_count / wall, "rate_cpu": a.replay_count / (user + sys_)})
        log(f"  run {i + 1}: {wall:.2f} s wall ({user:.2f} user + {sys_:.2f} sys): "
            f"{a.replay_count / wall / 1e6:.2f} M readings/s; max RSS {rss} kB")
    os.remove(big)
    small = os.path.join(work, "replay-100k.ndjson")
    subprocess.run([sim, "--output", small, "--time-mode", "synthetic", "--step-ms", "1000", "--count",
                    str(a.callgrind_count), "--devices", str(a.devices), "--quiet"], check=True)
    instr = None
    if shutil.which("valgrind"):
        log(f"  callgrind over {a.callgrind_count} readings")
        out = os.path.join(work, "callgrind.out")
        with open(os.devnull, "w") as null:
            p = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", weir, "replay",
                                "-c", cfg, "-i", small], stdout=null, stderr=subprocess.PIPE, text=True)
        m = re.search(r"Collected : (\d+)", p.stderr)
        if m:
            instr = int(m.group(1)) / a.callgrind_count
            log(f"  {instr:.0f} instructions per reading (whole process, start-up included)")
        results["callgrind_file"] = out
    best = max(runs, key=lambda r: r["rate"])
    results["replay"] = {"readings": a.replay_count, "file_bytes": size, "runs": runs, "best_rate": best["rate"],
                         "instructions_per_reading": instr, "callgrind_readings": a.callgrind_count}


def part_footprint(a, work, results):
    out = {}
    stripped = os.path.join(work, "weir.stripped")
    shutil.copy(os.path.join(a.build, "src/app/weir"), stripped)
    subprocess.run(["strip", stripped], check=True)
    out["stripped_bytes"] = os.path.getsize(stripped)
    log(f"footprint: stripped weir {out['stripped_bytes']} bytes")
    broker = Broker(work)
    try:
        w = Weir(a.build, work, "realistic.json", broker.port, stats_ms=60000)
        time.sleep(5)
        out["idle"] = w.mem_kb()
        w.close()
        log(f"  idle, one pipeline: peak RSS {out['idle']['VmHWM']} kB")

        def one_minute_window(cfg):
            win = cfg["pipelines"][0]["pipeline"][3]["$tumblingWindow"]
            win["interval"] = {"size": 1, "unit": "minute"}
        # 100,000 devices, one reading each, all in the same 1-minute window (wall clock:
        # the run starts just after a minute boundary).
        sub = Subscriber(a.build, work, broker.port, "agg/#", 1, sum_field="n", idle_ms=10000, timeout_ms=600000)
        w = Weir(a.build, work, "realistic.json", broker.port, stats_ms=100, patch=one_minute_window)
        while time.time() % 60 > 2:
            time.sleep(0.2)
        sim = run_sim(a.build, broker.port, count=a.groups, devices=a.groups, rate=0, qos=1, client_id="sim-groups")
        w.wait_for(a.groups)
        out["groups_before_close"] = w.mem_kb()
        r = sub.result()
        out["groups"] = w.mem_kb()
        out["groups_outputs"] = r["received"]
        out["groups_sum"] = r["sum"]
        out["groups_sim_s"] = sim["seconds"]
        w.close()
        log(f"  {a.groups} devices in one window: RSS {out['groups_before_close']['VmRSS']} kB before the close, "
            f"peak {out['groups']['VmHWM']} kB after emitting {r['received']} aggregates (counting {r['sum']} readings)")
    finally:
        broker.close()
    results["footprint"] = out


def part_soak(a, work, results):
    broker = Broker(work)
    samples = []
    try:
        agg = Subscriber(a.build, work, broker.port, "agg/#", 1, sum_field="n", idle_ms=15000,
                         timeout_ms=int((a.soak_minutes * 60 + 120) * 1000))
        w = Weir(a.build, work, "realistic.json", broker.port, stats_ms=10000)
        seconds = a.soak_minutes * 60 + 5
        log(f"soak: {a.soak_rate} msg/s from {a.devices} devices for {seconds} s")
        sim = start([os.path.join(a.build, "src/sim/weir-sim"), "--port", str(broker.port), "--devices", str(a.devices),
                     "--rate", str(a.soak_rate / a.devices), "--duration", str(seconds), "--qos", "1",
                     "--client-id", "sim-soak", "--quiet"])
        t0 = time.monotonic()
        while sim.poll() is None:
            time.sleep(1)
            el = time.monotonic() - t0
            if not samples or el - samples[-1]["t"] >= 10:
                m = w.mem_kb()
                samples.append({"t": round(el), "rss_kb": m["VmRSS"], "hwm_kb": m["VmHWM"], "messages": w.messages})
                if len(samples) % 6 == 0:
                    log(f"  {round(el)} s: RSS {m['VmRSS']} kB, {w.messages} messages")
        r = agg.result()  # returns 15 s after the last window result: weir's stats are current
        sent_total = w.messages
        w.close()
    finally:
        broker.close()

    def at(minute):
        return min(samples, key=lambda s: abs(s["t"] - minute * 60))

    m1, m10 = at(1), at(a.soak_minutes)
    growth = (m10["rss_kb"] - m1["rss_kb"]) / m1["rss_kb"]
    results["soak"] = {"minutes": a.soak_minutes, "rate": a.soak_rate, "samples": samples, "rss_minute1_kb": m1["rss_kb"],
                       "rss_last_kb": m10["rss_kb"], "growth": growth, "messages": sent_total,
                       "aggregated": r["sum"]}
    log(f"  RSS at minute 1: {m1['rss_kb']} kB, at minute {a.soak_minutes}: {m10['rss_kb']} kB ({growth * 100:+.1f}%)")


def table(L, *columns):
    """Starts a Markdown table: a blank line, the header and the separator."""
    L.append("")
    L.append("| " + " | ".join(columns) + " |")
    L.append("|" + "---|" * len(columns))


def markdown(a, results):
    L = []
    L.append(f"Machine: {os.cpu_count()} cores, {cpu_model()}; {time.strftime('%Y-%m-%d %H:%M %Z')}")
    L.append(f"Command: `python3 bench/e2e/run.py {' '.join(sys.argv[1:])}`")
    if "throughput" in results:
        table(L, "QoS", "journal", "readings", "ceiling (msg/s)", "weir input (msg/s)", "weir processed (msg/s)", "loss",
              "lag (s)", "queue full", "weir CPU", "weir peak RSS", "weir / ceiling")
        for r in results["throughput"]:
            L.append(f"| {r['qos']} | {'on' if r.get('journal') else 'off'} | {r['readings']:,} | {r['ceiling_rate']:,.0f} | {r['input_rate']:,.0f} | "
                     f"{r['processed_rate']:,.0f} | {r['loss']} (windows counted {r['aggregated']:,}) | {r['lag_s']:.2f} | "
                     f"{r.get('queue_full_waits', '')} | "
                     f"{r['cpu_pct']:.0f}% | {r['peak_rss_kb'] / 1024:.1f} MiB | {100 * r['ratio']:.1f}% |")
    if "latency" in results:
        table(L, "QoS", "load", "path", "rate (msg/s)", "sent", "received", "p50 (ms)", "p99 (ms)", "p99.9 (ms)",
              "max (ms)", "broker CPU", "weir CPU")
        for r in results["latency"]:
            weir_cpu = f"{r['weir_cpu_pct']:.0f}%" if r.get("weir_cpu_pct") is not None else ""
            L.append(f"| {r['qos']} | {r['fraction']:.2f} × ceiling | {r['path']} | {r['rate']:,.0f} | {r['sent']:,} | {r['received']:,} | {r['p50_ms']:.2f} | "
                     f"{r['p99_ms']:.2f} | {r['p999_ms']:.2f} | {r['max_ms']:.2f} | {r['broker_cpu_pct']:.0f}% | {weir_cpu} |")
    if "replay" in results:
        r = results["replay"]
        table(L, "replay", "wall (s)", "CPU user+sys (s)", "readings/s (wall)", "max RSS")
        for i, run in enumerate(r["runs"]):
            L.append(f"| run {i + 1}, {r['readings']:,} readings | {run['wall_s']:.2f} | {run['user_s'] + run['sys_s']:.2f} | "
                     f"{run['rate']:,.0f} | {run['max_rss_kb'] / 1024:.1f} MiB |")
        if r["instructions_per_reading"]:
            L.append(f"\nInstructions per reading (callgrind, {r['callgrind_readings']:,} readings, whole process): "
                     f"{r['instructions_per_reading']:,.0f}")
    if "footprint" in results:
        f = results["footprint"]
        table(L, "footprint", "value")
        L.append(f"| stripped `weir` binary | {f['stripped_bytes'] / 1048576:.2f} MiB ({f['stripped_bytes']:,} bytes) |")
        L.append(f"| peak RSS idle, one pipeline | {f['idle']['VmHWM'] / 1024:.1f} MiB |")
        if "groups" in f:
            L.append(f"| RSS with {a.groups:,} devices in the window (before it closes) | "
                     f"{f['groups_before_close']['VmRSS'] / 1024:.1f} MiB |")
            L.append(f"| peak RSS with {a.groups:,} devices, window closed and emitted | {f['groups']['VmHWM'] / 1024:.1f} MiB |")
    if "soak" in results:
        s = results["soak"]
        L.append("")
        L.append(f"Soak: {s['rate']} msg/s for {s['minutes']} minutes: RSS {s['rss_minute1_kb'] / 1024:.2f} MiB at minute 1, "
                 f"{s['rss_last_kb'] / 1024:.2f} MiB at minute {s['minutes']} ({100 * s['growth']:+.1f}%); "
                 f"{s['messages']:,} readings taken, {s['aggregated']:,} counted in emitted windows.")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build-rel"),
                    help="a Release build directory with weir, weir-sim and weir_count_sub")
    ap.add_argument("--parts", default="throughput,latency,replay,footprint")
    ap.add_argument("--count", type=int, default=1000000, help="readings per throughput run")
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--qos", default="0,1")
    ap.add_argument("--no-journal", dest="journal", action="store_false",
                    help="throughput: skip the QoS 1 run with the journal and checkpoints on")
    ap.add_argument("--ceiling", type=float, default=20000, help="QoS 1 ceiling when throughput did not run")
    ap.add_argument("--latency-seconds", type=float, default=20)
    ap.add_argument("--latency-fractions", default="0.25,0.5",
                    help="loads of the latency part, as fractions of the QoS 1 ceiling")
    ap.add_argument("--replay-count", type=int, default=10000000)
    ap.add_argument("--replay-runs", type=int, default=3)
    ap.add_argument("--callgrind-count", type=int, default=100000)
    ap.add_argument("--groups", type=int, default=100000)
    ap.add_argument("--soak-minutes", type=float, default=10)
    ap.add_argument("--soak-rate", type=float, default=5000)
    ap.add_argument("--out", default=None, help="directory for results.json and results.md")
    a = ap.parse_args()
    a.qos = [int(q) for q in a.qos.split(",")]
    a.latency_fractions = [float(f) for f in a.latency_fractions.split(",")]
    a.build = os.path.abspath(a.build)
    for exe in ("src/app/weir", "src/sim/weir-sim", "bench/weir_count_sub"):
        if not os.access(os.path.join(a.build, exe), os.X_OK):
            sys.exit(f"run.py: {os.path.join(a.build, exe)} is missing; build first (see bench/README.md)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    work = tempfile.mkdtemp(prefix="weir-e2e-")
    out_dir = a.out or work
    os.makedirs(out_dir, exist_ok=True)
    results = {"machine": {"cores": os.cpu_count(), "cpu": cpu_model()}, "args": vars(a)}
    parts = {"throughput": part_throughput, "latency": part_latency, "replay": part_replay,
             "footprint": part_footprint, "soak": part_soak}
    try:
        for name in a.parts.split(","):
            parts[name](a, work, results)
    finally:
        stop_all()
        with open(os.path.join(out_dir, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        md = markdown(a, results)
        with open(os.path.join(out_dir, "results.md"), "w") as f:
            f.write(md + "\n")
        print(md)
        log(f"results in {out_dir}")
        if not a.out:
            for name in os.listdir(work):
                if not name.startswith(("results", "callgrind")):
                    os.remove(os.path.join(work, name))


if __name__ == "__main__":
    main()
