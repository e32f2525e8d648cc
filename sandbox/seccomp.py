"""System-call filters for candidate processes, compiled by libseccomp on the host.

The runner inside the sandbox uses only the standard library, so the filters are compiled here
(libseccomp through `pyseccomp`) and sent to it as classic BPF programs; the runner installs one
in each candidate process with `prctl(PR_SET_SECCOMP)` just before the candidate's code runs.

Profiles:
- `noproc` (function and stdin/stdout tests, and the trusted test evaluator): starting a process
  is refused (the process is killed with SIGSYS: judges do the same), threads are allowed; so the
  CPU time and memory of everything a test does are those of one process. Signals may only target
  the process itself; other processes cannot be traced, re-limited, reniced or inspected; SysV IPC
  and POSIX message queues (state that outlives a process) are refused.
- `proc` (command jobs such as a test suite, which legitimately start processes): the same, except
  that processes may be started and signalled.

"Own pid" rules need the pid of the process the filter is installed in, which is only known after
fork: they compare with a placeholder constant that the runner replaces in the BPF program (it
checks that it replaced exactly `placeholders` instructions).
"""

from __future__ import annotations

import base64
import errno
import functools
import tempfile

PLACEHOLDER = 0x4F525053  # "ORPS": stands for the pid of the process that installs the filter
CLONE_THREAD = 0x00010000
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
PRIO_PROCESS = 0
IOPRIO_WHO_PROCESS = 1

# refused outright (EPERM): reach into other processes, change the system, or create state that
# survives the process
_DENIED = [
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "pidfd_send_signal", "kcmp",
    "perf_event_open", "bpf", "userfaultfd", "keyctl", "add_key", "request_key",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
    "fsopen", "fsmount", "fspick", "mount_setattr", "kexec_load", "kexec_file_load", "init_module",
    "finit_module", "delete_module", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "acct", "swapon", "swapoff", "reboot", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "sethostname", "setdomainname", "iopl", "ioperm", "quotactl", "syslog",
    "migrate_pages", "move_pages", "process_madvise", "process_mrelease", "open_by_handle_at",
    "name_to_handle_at", "fanotify_init", "lookup_dcookie", "vhangup",
    "shmget", "shmat", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop",
    "semtimedop", "semctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
    "mq_getsetattr",
]
# (syscall, argument index, value the argument must equal) -> EPERM otherwise
_ONLY_SELF = [
    ("prlimit64", 0, 0), ("sched_setaffinity", 0, 0), ("sched_setscheduler", 0, 0),
    ("sched_setparam", 0, 0), ("sched_setattr", 0, 0), ("setpriority", 0, PRIO_PROCESS),
    ("setpriority", 1, 0), ("ioprio_set", 0, IOPRIO_WHO_PROCESS), ("ioprio_set", 1, 0),
]
_SIGNALS_SELF = [("kill", 0), ("tkill", 0), ("tgkill", 0), ("rt_sigqueueinfo", 0), ("rt_tgsigqueueinfo", 0)]


def _compile(no_processes: bool) -> tuple[bytes, int]:
    import pyseccomp as sc

    f = sc.SyscallFilter(defaction=sc.ALLOW)

    def rule(action, name, *args) -> None:
        try:
            f.add_rule(action, name, *args)
        except (OSError, ValueError, RuntimeError):
            pass  # a system call this architecture does not have (fork on arm64)

    eperm = sc.ERRNO(errno.EPERM)
    for name in _DENIED:
        rule(eperm, name)
    for name, index, value in _ONLY_SELF:
        rule(eperm, name, sc.Arg(index, sc.NE, value))
    for flag in _NAMESPACE_FLAGS:  # a process in new namespaces could escape the filesystem view
        rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    if no_processes:
        for name in ("fork", "vfork"):
            rule(sc.KILL_PROCESS, name)
        # clone without CLONE_THREAD makes a process; with it, a thread
        rule(sc.KILL_PROCESS, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
        # clone3 passes its flags in memory, where a filter cannot look: glibc falls back to clone
        rule(sc.ERRNO(errno.ENOSYS), "clone3")
        for name, index in _SIGNALS_SELF:
            rule(eperm, name, sc.Arg(index, sc.NE, PLACEHOLDER))
    with tempfile.TemporaryFile() as fh:
        f.export_bpf(fh)
        fh.seek(0)
        program = fh.read()
    return program, count_placeholders(program)


def count_placeholders(program: bytes) -> int:
    import struct
    count = 0
    for i in range(0, len(program), 8):
        code, _jt, _jf, k = struct.unpack_from("<HBBI", program, i)
        if code == 0x15 and k == PLACEHOLDER:  # BPF_JMP | BPF_JEQ | BPF_K
            count += 1
    return count


@functools.cache
def profiles() -> tuple[dict | None, str]:
    """({name: {"bpf": base64, "placeholders": n}}, "") or (None, why filters are unavailable)."""
    try:
        out = {}
        for name, no_processes in (("noproc", True), ("proc", False)):
            program, placeholders = _compile(no_processes)
            out[name] = {"bpf": base64.b64encode(program).decode("ascii"), "placeholders": placeholders}
        return out, ""
    except ImportError:
        return None, "the pyseccomp package is missing"
    except (OSError, RuntimeError) as exc:  # libseccomp missing or refusing
        return None, f"libseccomp is unavailable ({exc}); install libseccomp2"
