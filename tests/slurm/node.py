"""A one-node SLURM cluster on this host, for the tests: munged, slurmctld and slurmd of Debian's packages
(``make slurm``), each with its own key, socket, state and config in one folder, run as root. Nothing of the
system's own munge or SLURM configuration is read or changed; ``SLURM_CONF`` points the client commands
(``sbatch``, ``squeue``, ``scancel``) at this cluster.

The node may declare more CPUs than the host has (``SlurmdParameters=config_overrides``) and GPUs it does not
have: ``gpus`` character devices in the cluster's folder (with /dev/null's numbers) that SLURM's ``gres/gpu``
hands to jobs as it would real ones, setting ``CUDA_VISIBLE_DEVICES`` and ``SLURM_JOB_GPUS`` for them."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel")

CONF = """\
ClusterName=babelscope-test
SlurmctldHost={host}
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
KillWait=5
SlurmdTimeout=60
InactiveLimit=0
MinJobAge=300
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName={host} CPUs={cpus} RealMemory={memory} {gres}State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def missing() -> str | None:
    """Why a one-node cluster cannot be started here (None when it can)."""
    absent = [name for name in DAEMONS if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists()]
    if absent:
        return f"SLURM/munge not installed ({', '.join(absent)} missing; `make slurm` installs them as root)"
    if os.geteuid() != 0:
        return "the one-node SLURM cluster runs its daemons as root"
    return None


def _stand_in_device(path: Path) -> None:
    """A character device with /dev/null's numbers: what SLURM's gres/gpu needs a GPU's device file to be."""
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))


def no_stand_in_gpus(folder: Path) -> str | None:
    """Why stand-in GPU device files cannot be made here (None when they can)."""
    probe = Path(folder) / "probe-device"
    try:
        _stand_in_device(probe)
    except OSError as exc:
        return f"cannot make the stand-in GPU device files SLURM's gres/gpu needs (mknod: {exc})"
    probe.unlink()
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _daemon(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


class Node:
    """Start with :meth:`start`, stop with :meth:`stop`; ``env`` is what the client commands need."""

    def __init__(self, root: Path, cpus: int = 2, memory_mb: int = 8000, gpus: int = 0):
        self.root = Path(root)
        self.cpus, self.memory, self.gpus = cpus, memory_mb, gpus
        self.host = socket.gethostname()
        self.conf = self.root / "slurm.conf"
        self.socket = self.root / "munge" / "munge.socket"
        self.procs: list[subprocess.Popen] = []

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def start(self, timeout: float = 60.0) -> Node:
        for folder in ("munge", "state", "spool"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        munge = self.root / "munge"
        self._spawn([_daemon("munged"), "-F", "--force", f"--socket={self.socket}", f"--key-file={key}",
                     f"--pid-file={munge}/munged.pid", f"--log-file={munge}/munged.log",
                     f"--seed-file={munge}/munged.seed"], "munged")
        self._wait(lambda: self.socket.exists(), timeout, "munged socket")
        gres = ""
        if self.gpus:
            devices = self.root / "dev"
            devices.mkdir(exist_ok=True)
            for i in range(self.gpus):
                _stand_in_device(devices / f"gpu{i}")
            files = f"{devices}/gpu[0-{self.gpus - 1}]"
            (self.root / "gres.conf").write_text(f"NodeName={self.host} Name=gpu File={files}\n")
            gres = f"Gres=gpu:{self.gpus} "
        self.conf.write_text(CONF.format(host=self.host, ctld_port=_free_port(), d_port=_free_port(),
                                         socket=self.socket, root=self.root, cpus=self.cpus, memory=self.memory,
                                         gres=gres))
        env = {**os.environ, **self.env}
        self._spawn([_daemon("slurmctld"), "-D", "-i", "-f", str(self.conf)], "slurmctld", env)
        self._spawn([_daemon("slurmd"), "-D", "-f", str(self.conf)], "slurmd", env)
        self._wait(self._idle, timeout, "the SLURM node to be idle")
        return self

    def _spawn(self, command: list[str], name: str, env: dict[str, str] | None = None) -> None:
        log = open(self.root / f"{name}.out", "wb")  # noqa: SIM115 - kept open for the daemon's life
        self.procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))

    def _idle(self) -> bool:
        done = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True,
                              env={**os.environ, **self.env})
        return done.returncode == 0 and done.stdout.strip() in ("idle", "mix", "alloc")

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            dead = [p.args[0] for p in self.procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead} exited while waiting for {what}: {self.logs()}")
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting for {what}: {self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                         for p in sorted(self.root.glob("*.out")) + sorted(self.root.glob("*.log")))

    def squeue(self) -> list[str]:
        """Job ids queued or running."""
        done = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, check=True,
                              env={**os.environ, **self.env})
        return done.stdout.split()

    def drained(self, timeout: float = 60.0) -> list[str]:
        """The jobs still queued once none is left or ``timeout`` s have passed (a cancelled job lingers
        while it completes)."""
        deadline = time.monotonic() + timeout
        while (jobs := self.squeue()) and time.monotonic() < deadline:
            time.sleep(0.5)
        return jobs

    def stop(self) -> None:
        subprocess.run(["scancel", "--user=root"], capture_output=True, env={**os.environ, **self.env})
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
