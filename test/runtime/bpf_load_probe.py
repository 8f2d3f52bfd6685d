# SPDX-License-Identifier: MIT
"""Takes on exactly the capability sets given (hex, as /proc/PID/status
shows them: CapInh CapPrm CapEff CapBnd CapAmb, and no_new_privs), then
tries bpf(BPF_PROG_LOAD) of the smallest program ("r0 = 0; exit").
Prints its own status lines and the result: "loaded" or the errno name.
Runs as root and becomes the uid given (the process it stands in for)."""
import ctypes
import ctypes.util
import errno
import struct
import sys

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 23, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
PR_SET_KEEPCAPS = 8
SYS_capset, SYS_bpf = 126, 321  # x86_64


def take_sets(inh, prm, eff, bnd, amb, nnp, uid):
    for cap in range(64):
        if not bnd >> cap & 1 and libc.prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1:
            assert libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0, "cannot drop bounding"
    if uid:
        # The permitted set survives the change of uid, so capset below
        # can still set what is asked (a subset of it).
        libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)
        assert libc.setgroups(0, None) == 0 and libc.setresgid(uid, uid, uid) == 0
        assert libc.setresuid(uid, uid, uid) == 0
    if amb == 0:
        libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    hdr = struct.pack("II", 0x20080522, 0)
    data = struct.pack("IIIIII", eff & 0xffffffff, prm & 0xffffffff, inh & 0xffffffff,
                       eff >> 32, prm >> 32, inh >> 32)
    assert libc.syscall(SYS_capset, hdr, data) == 0, "capset"
    if nnp:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def prog_load():
    insns = bytes.fromhex("b700000000000000" "9500000000000000")
    ibuf = ctypes.create_string_buffer(insns)
    lic = ctypes.create_string_buffer(b"GPL")
    attr = struct.pack("IIQQIIQII", 1, 2, ctypes.addressof(ibuf), ctypes.addressof(lic),
                       0, 0, 0, 0, 0)  # BPF_PROG_TYPE_SOCKET_FILTER
    abuf = ctypes.create_string_buffer(attr, 128)
    fd = libc.syscall(SYS_bpf, 5, abuf, 128)  # BPF_PROG_LOAD
    return "loaded" if fd >= 0 else errno.errorcode[ctypes.get_errno()]


if __name__ == "__main__":
    inh, prm, eff, bnd, amb = (int(x, 16) for x in sys.argv[1:6])
    take_sets(inh, prm, eff, bnd, amb, sys.argv[6] == "1", int(sys.argv[7]))
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("Cap", "NoNewPrivs")):
                print(line.strip())
    print("result", prog_load())
