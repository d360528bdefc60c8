#!/bin/busybox sh
# tracer's smoke suite, run as /init inside a guest booted by `cargo xtask
# vmtest`. For each tool: start it with -v, wait until it says which hook it
# attached through, run a workload whose identity we know, check the
# output names it. Prints `RESULT TOOL HOOK pass|fail` lines for the host,
# then powers off.

/bin/busybox --install -s /bin
export PATH=/bin
# The firmware leaves the console mid-line: start ours on a fresh one.
echo
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t bpf bpf /sys/fs/bpf
ip link set lo up
insmod /modules/loop.ko 2>/dev/null
mkdir -p /mnt
if losetup /dev/loop0 /ext4.img && mount -t ext4 /dev/loop0 /mnt; then
    echo "RESULT ext4-image - pass"
else
    echo "RESULT ext4-image - fail"
fi

echo "KERNEL $(uname -r)"
echo "=== doctor"
tracer doctor
echo "=== end doctor"

PID=
start() { # NAME TRACER-ARGS...: start tracer, wait until attached (max 60 s)
    name=$1; shift
    tracer -v "$@" > /tmp/$name.out 2> /tmp/$name.err &
    PID=$!
    i=0
    while ! grep -q "attached via" /tmp/$name.err 2>/dev/null; do
        kill -0 $PID 2>/dev/null || break
        i=$((i + 1)); [ $i -gt 300 ] && break
        sleep 0.2
    done
}
stop() { kill -INT $PID 2>/dev/null; wait $PID; }
hook_of() { sed -n 's/.*attached via \([a-z_]*\).*/\1/p' /tmp/$1.err | head -n 1; }
verdict() { # NAME CHECK...: RESULT line; on failure the tool's output follows
    name=$1; shift
    hook=$(hook_of $name); [ -n "$hook" ] || hook=-
    # Why better hooks were passed over, for the host's output and the log.
    grep ' failed: ' /tmp/$name.err | sed "s/^/--- $name: /"
    if "$@"; then
        echo "RESULT $name $hook pass"
    else
        echo "RESULT $name $hook fail"
        echo "--- $name stderr:"; tail -n 15 /tmp/$name.err
        echo "--- $name stdout:"; tail -n 15 /tmp/$name.out
    fi
}
has() { grep -q "$2" /tmp/$1.out; }
ready_pid() { # FILE: wait for the workload's `ready PID` line, print PID
    i=0
    while ! grep -q '^ready ' $1 2>/dev/null; do i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1; done
    sed -n 's/^ready \([0-9]*\).*/\1/p' $1 | head -n 1
}

start runqlat runqlat 1 2
tracer-burn 4 3 burnvm > /dev/null
wait $PID
verdict runqlat has runqlat "p99"

start execsnoop execsnoop
/bin/busybox echo vmtest-exec-arg-q9 > /dev/null
sleep 1; stop
verdict execsnoop has execsnoop "vmtest-exec-arg-q9"

start exitsnoop exitsnoop
tracer-burn 1 0.3 exitvm-q9 > /dev/null
sleep 1; stop
verdict exitsnoop has exitsnoop "exitvm-q9"

# tcp_session: one loopback session (the client holds it 50 ms); sets $port.
# The file is emptied before the server starts: its redirect truncates it
# only once the shell forks, so a previous session's port could be read.
tcp_session() {
    : > /tmp/server.out
    tracer-tcp server v4 1000 2000 > /tmp/server.out &
    server=$!
    i=0; while ! grep -q '^port ' /tmp/server.out 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
    port=$(sed -n 's/^port \([0-9]*\)/\1/p' /tmp/server.out)
    if [ -z "$port" ]; then kill $server; wait $server; return; fi
    timeout 30 tracer-tcp client 127.0.0.1 "$port" 1000 2000 50 > /dev/null
    wait $server
}
start tcplife tcplife
tcp_session
sleep 1; stop
verdict tcplife has tcplife "tcp-client.*$port"

# gethostlatency: a name only the guest's /etc/hosts knows, resolved three
# ways (getaddrinfo, gethostbyname, gethostbyname2) through the glibc copied
# in with the workloads; the workload runs first, so its libc is found
# through its map_files (and, the same inode, at the host's path).
mkdir -p /etc
echo "10.9.8.7 vmtest-host-q9.test" > /etc/hosts
echo "hosts: files" > /etc/nsswitch.conf
mkfifo /tmp/go-host
tracer-hostlookup vmtest-host-q9.test < /tmp/go-host > /tmp/hostlookup.out &
exec 4> /tmp/go-host
lookup=$(ready_pid /tmp/hostlookup.out)
start gethostlatency gethostlatency
echo go >&4
exec 4>&-
wait $lookup
sleep 1; stop
three_lookups() { [ "$(grep -c "^[0-9:]* *$lookup *hostlookup .* vmtest-host-q9.test$" /tmp/gethostlatency.out)" = 3 ]; }
verdict gethostlatency three_lookups
# tcprtt on every tracepoint kind: a connection between two sockets bound
# to an address of its own has a histogram under that address (-b).
for hook in tp_btf raw_tp tracepoint; do
    start tcprtt_$hook tcprtt --json -b -a 127.77.0.9 --hook $hook
    echo go | timeout 30 tracer-tcpflow 127.77.0.9 1000000 100000 > /dev/null
    sleep 1; stop
    verdict tcprtt_$hook has tcprtt_$hook '"laddr":"127.77.0.9"'
done

# tcptop: the sock tracepoints where the kernel has them (6.3+), else
# fentry, and kprobes forced: the client thread's row with the bytes it sent.
for hook in default kprobe; do
    if [ $hook = default ]; then set -- ; else set -- --hook $hook; fi
    start tcptop_$hook tcptop -C --json 30 "$@"
    echo go | timeout 30 tracer-tcpflow 127.77.0.10 1000000 100000 > /dev/null
    sleep 1; stop
    verdict tcptop_$hook has tcptop_$hook '"comm":"flow-client".*"laddr":"127.77.0.10".*"tx_bytes":1000000'
done

# tcpdrop: a SYN to a closed loopback port is dropped (NO_SOCKET where the
# kernel has drop reasons, 5.17+; the stack alone before).
dropped() { has $1 "127.0.0.1:47491 *> 127.0.0.1:47391 *NONE (SYN)" && { has $1 "NO_SOCKET" || grep -q "no drop reasons" /tmp/$1.err; }; }
for hook in default tracepoint; do
    name=tcpdrop; [ $hook = default ] || name=tcpdrop_$hook
    if [ $hook = default ]; then start $name tcpdrop; else start $name tcpdrop --hook $hook; fi
    echo go | tracer-backlog connect 127.0.0.1 47391 1 47491 300 > /dev/null
    sleep 1; stop
    verdict $name dropped $name
done

# tcpsynbl: a listener with backlog 4 that never accepts, 10 connects: the
# lengths reach 4 (5 on fentry/kprobes, which also see the refused ones).
synbl() { grep -q "port = 47511, backlog_max = 4" /tmp/$1.out && has $1 "max [45]  (" ; }
sport=47611
for hook in default kprobe tracepoint; do
    name=tcpsynbl; [ $hook = default ] || name=tcpsynbl_$hook
    if [ $hook = default ]; then start $name tcpsynbl; else start $name tcpsynbl --hook $hook; fi
    sleep 30 | tracer-backlog listen 127.0.0.1 47511 4 > /dev/null &
    listener=$!
    sleep 0.3
    # Source ports of their own per run: the last run's may be in TIME_WAIT.
    echo go | tracer-backlog connect 127.0.0.1 47511 10 $sport 1000 > /dev/null
    sport=$((sport + 20))
    sleep 0.5; stop
    kill $listener
    verdict $name synbl $name
done

# tcpconnect (every path) and tcpconnlat: exactly the client's 5 connects
# to the server's port (PID COMM IP SADDR DADDR DPORT ...).
connects_are() { [ "$(awk -v p="$2" '$2 == "conn-client" && $6 == p' /tmp/$1.out | wc -l)" -eq "$3" ]; }
connects_run() { # NAME TRACER-ARGS...
    name=$1; shift
    start $name "$@"
    tracer-connects server v4 0 5 > /tmp/$name-server.out &
    server=$!
    i=0; while ! grep -q '^port ' /tmp/$name-server.out 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
    port=$(sed -n 's/^port \([0-9]*\)/\1/p' /tmp/$name-server.out)
    if [ -z "$port" ]; then kill $server; fi
    timeout 30 tracer-connects client 127.0.0.1 "$port" 5 > /dev/null
    wait $server
    sleep 1; stop
    verdict $name connects_are $name "$port" 5
}
connects_run tcpconnect tcpconnect
connects_run tcpconnect_kprobe tcpconnect --hook kprobe
connects_run tcpconnect_tracepoint tcpconnect --hook tracepoint
connects_run tcpconnlat tcpconnlat
connects_run tcpconnlat_tracepoint tcpconnlat --hook tracepoint

start tcpstates tcpstates
tcp_session
sleep 1; stop
verdict tcpstates has tcpstates "tcp-client.*$port *CLOSE *-> SYN_SENT"

# A SYN to an address routed into loopback but not local to it is dropped
# on arrival, so it is retransmitted (at 1 s, 3 s): tcpretrans's workload.
ip addr add 10.9.9.1/32 dev lo
ip route add 10.9.9.2/32 dev lo src 10.9.9.1
start tcpretrans tcpretrans
timeout 3 tracer-tcp client 10.9.9.2 4242 10 10 0 > /dev/null 2>&1
sleep 1; stop
verdict tcpretrans has tcpretrans "10.9.9.2:4242 *SYN_SENT"
# -l: tail loss probes by fentry or kprobe (no tracepoint); the hook is named.
tlp_hooked() { grep -q 'tail loss probes via \(fentry\|kprobe\)' /tmp/$1.err && has $1 "$2"; }
start tcpretrans_tlp tcpretrans -l
timeout 3 tracer-tcp client 10.9.9.2 4243 10 10 0 > /dev/null 2>&1
sleep 1; stop
sed -n 's/.*\(tail loss probes via [a-z]*\).*/--- tcpretrans_tlp: \1/p' /tmp/tcpretrans_tlp.err
verdict tcpretrans_tlp tlp_hooked tcpretrans_tlp "10.9.9.2:4243 *SYN_SENT"

start ext4slower ext4slower -m 0
echo go | tracer-fsio /mnt/vmtest-file-q9 4 > /dev/null
sleep 1; stop
verdict ext4slower has ext4slower "vmtest-file-q9"

# The other two paths, forced: kprobes, then the syscall tracepoints.
start ext4slower_kprobe ext4slower -m 0 --hook kprobe
echo go | tracer-fsio /mnt/vmtest-kprobe-q9 4 > /dev/null
sleep 1; stop
verdict ext4slower_kprobe has ext4slower_kprobe "vmtest-kprobe-q9"

start ext4slower_tracepoint ext4slower -m 0 --hook tracepoint
echo go | tracer-fsio /mnt/vmtest-tp-q9 4 > /dev/null
sleep 1; stop
verdict ext4slower_tracepoint has ext4slower_tracepoint "vmtest-tp-q9"

json_sum() { # NAME FIELD: the sum of FIELD over the JSON lines of NAME's output
    awk -F"\"$2\":" 'NF > 1 { split($2, v, /[,}]/); sum += v[1] } END { print sum + 0 }' /tmp/$1.out
}

# fsdist (as ext4dist) on a 4 MiB tracer-fsio filtered by its pid: exactly
# its 5 reads (the last at end of file), its fsync and its fd stat; every path.
fsdist_ok() { has $1 "operation = 'fsync'" && has $1 "operation = 'getattr'" && has $1 "(5 samples"; }
fsdist_run() { # NAME EXTRA-ARGS...
    name=$1; shift
    mkfifo /tmp/go-$name
    tracer-fsio /mnt/vmtest-$name-q9 4 < /tmp/go-$name > /tmp/$name-io.out &
    io=$!
    exec 4> /tmp/go-$name
    ready_pid /tmp/$name-io.out > /dev/null
    start $name ext4dist -p "$io" "$@"
    echo go >&4
    exec 4>&-
    wait $io
    sleep 1; stop
    rm -f /mnt/vmtest-$name-q9
    echo "--- $name: $(grep -c '^operation = ' /tmp/$name.out) operations, $(grep -c 'samples' /tmp/$name.out) with samples; reads: $(sed -n "/operation = 'read'/,/samples/p" /tmp/$name.out | sed -n 's/.*(\([0-9]*\) samples.*/\1/p')"
    verdict $name fsdist_ok $name
}
fsdist_run fsdist
fsdist_run fsdist_kprobe --hook kprobe
fsdist_run fsdist_tracepoint --hook tracepoint

# filetop: the 4 MiB file's row, with its name and kilobytes written.
filetop_run() { # NAME EXTRA-ARGS...
    name=$1; shift
    start $name filetop -C "$@" 1
    echo go | tracer-fsio /mnt/vmtest-$name-q9 4 > /dev/null
    sleep 1.5; stop
    rm -f /mnt/vmtest-$name-q9
    echo "--- $name: $(grep "vmtest-$name-q9" /tmp/$name.out | head -n 1)"
    verdict $name has $name "tracer-fsio .* 4096 *R vmtest-$name-q9"
}
filetop_run filetop
filetop_run filetop_kprobe --hook kprobe
filetop_run filetop_tracepoint --hook tracepoint

# vfsstat: tracer-vfsops makes 137 of each (create included) on the image.
vfsstat_ok() { [ "$(json_sum $1 mkdir)" -ge 137 ] && [ "$(json_sum $1 create)" -ge 137 ] && [ "$(json_sum $1 unlink)" -ge 137 ]; }
vfsstat_run() { # NAME EXTRA-ARGS...
    name=$1; shift
    start $name vfsstat --json "$@" 1
    mkdir -p /mnt/$name
    echo go | tracer-vfsops /mnt/$name 137 > /dev/null
    sleep 1.5; stop
    echo "--- $name: counted $(json_sum $name mkdir) mkdirs, $(json_sum $name create) creates, $(json_sum $name unlink) unlinks (137 of each made)"
    verdict $name vfsstat_ok $name
}
vfsstat_run vfsstat
vfsstat_run vfsstat_kprobe --hook kprobe
vfsstat_run vfsstat_tracepoint --hook tracepoint

# cachestat: tracer-pagecache writes a 4 MiB file, fsyncs it and drops its
# pages (posix_fadvise; it says how many stay cached), then reads it on each
# line it is sent: cold, its 1024 pages are misses; warm, hits (where hits
# can be counted: not on the tracepoint path, which must say so).
cachestat_ok() { [ "$(json_sum $1 misses)" -ge 1000 ] && [ "$(json_sum ${1}_warm hits)" -ge 1000 ]; }
cachestat_tp_ok() { [ "$(json_sum $1 misses)" -ge 1000 ] && has ${1}_warm '"hits":null' && grep -q "hits cannot be counted" /tmp/$1.err; }
reads_done() { # FILE N: wait until the workload has printed N `read` lines
    i=0
    while [ "$(grep -c '^read$' $1)" -lt $2 ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
}
cachestat_run() { # NAME CHECK EXTRA-ARGS... (start() sets $name: keep ours apart)
    run=$1; check=$2; shift 2
    mkfifo /tmp/go-$run
    tracer-pagecache /mnt/vmtest-$run-q9 4 < /tmp/go-$run > /tmp/$run-pc.out &
    pc=$!
    exec 4> /tmp/go-$run
    ready_pid /tmp/$run-pc.out > /dev/null
    start $run cachestat --json "$@" 1
    echo cold >&4
    reads_done /tmp/$run-pc.out 1
    sleep 1.5; stop
    start ${run}_warm cachestat --json "$@" 1
    echo warm >&4
    reads_done /tmp/$run-pc.out 2
    sleep 1.5; stop
    exec 4>&-
    wait $pc
    rm -f /mnt/vmtest-$run-q9
    echo "--- $run: $(grep resident /tmp/$run-pc.out) pages before the cold read; it counted $(json_sum $run misses) misses, the warm read $(json_sum ${run}_warm hits) hits"
    verdict $run $check $run
}
cachestat_run cachestat cachestat_ok
cachestat_run cachestat_kprobe cachestat_ok --hook kprobe
cachestat_run cachestat_tracepoint cachestat_tp_ok --hook tracepoint

start biolatency biolatency -D 1 3
dd if=/dev/zero of=/mnt/bio-q9 bs=1M count=8 2> /dev/null; sync
wait $PID
verdict biolatency has biolatency "loop0"

# The block tools against direct reads of known sectors and sizes
# (tracer-blockio) of a loop disk nothing else uses (no file system on it);
# each line checked names the reader's pid or the disk's exact counts.
dd if=/dev/zero of=/tmp/raw.img bs=1M count=8 2> /dev/null
RAW=$(losetup -f) && losetup "$RAW" /tmp/raw.img
DISK=${RAW#/dev/}
blockio() { # NAME READS TRACER-ARGS...: the tool while tracer-blockio reads READS
    name=$1; reads=$2; shift 2
    start $name "$@"
    echo go | tracer-blockio "$RAW" $reads > /tmp/$name.io
    sleep 1; stop
    bpid=$(sed -n 's/^ready \([0-9]*\).*/\1/p' /tmp/$name.io)
}
SCATTERED="0:4096 1048576:65536 2097152:8192"
# The start hook (block_io_start from 6.5, block_getrq before) goes to the log.
snooped() { # NAME: the 64 KiB read at sector 2048 is the reader's
    grep -o 'using .*' /tmp/$1.err | sed "s/^/--- $1: /"
    has $1 "^[0-9.]* *tracer-blockio *$bpid *$DISK *RS* *2048 *65536 "
}
blockio biosnoop "$SCATTERED" biosnoop -d "$DISK"
verdict biosnoop snooped biosnoop
blockio biosnoop_raw_tp "$SCATTERED" biosnoop -d "$DISK" --hook raw_tp
verdict biosnoop_raw_tp snooped biosnoop_raw_tp
blockio biosnoop_tracepoint "$SCATTERED" biosnoop -d "$DISK" --hook tracepoint
verdict biosnoop_tracepoint snooped biosnoop_tracepoint
# 3 I/Os, 76 KiB, in one report at Ctrl-C.
topped() { has $1 "^$bpid *tracer-blockio *R *7 *[0-9]* *$DISK *3 *76 "; }
for hook in "" raw_tp tracepoint; do
    blockio biotop${hook:+_$hook} "$SCATTERED" biotop -C ${hook:+--hook $hook} 60
    verdict biotop${hook:+_$hook} topped biotop${hook:+_$hook}
done
# One read each of 4, 8 and 64 KiB, under the reader's name.
sized() {
    has $1 "^Process Name = tracer-blockio" && has $1 "^ *4 -> 7 *: 1 " \
        && has $1 "^ *8 -> 15 *: 1 " && has $1 "^ *64 -> 127 *: 1 "
}
for hook in "" raw_tp tracepoint; do
    blockio bitesize${hook:+_$hook} "$SCATTERED" bitesize -c tracer-blockio ${hook:+--hook $hook}
    verdict bitesize${hook:+_$hook} sized bitesize${hook:+_$hook}
done
# 4 consecutive 4 KiB reads: 3 follow their predecessor, 16 KiB in all.
for hook in "" raw_tp tracepoint; do
    blockio biopattern${hook:+_$hook} "0:4096 4096:4096 8192:4096 12288:4096" \
        biopattern -d "$DISK" ${hook:+--hook $hook}
    verdict biopattern${hook:+_$hook} has biopattern${hook:+_$hook} "^$DISK *0 *100 *4 *16$"
done

tracer-spin cpu 6 > /tmp/spin.out &
spin=$(ready_pid /tmp/spin.out)
start profile profile -p "$spin" -f 3
wait $PID
verdict profile has profile "profile_target_spins_here_x7q"
kill $spin 2> /dev/null

start offcputime offcputime -f 3
sleep 1
wait $PID
verdict offcputime has offcputime "nanosleep"

mkfifo /tmp/go
tracer-syscalls 1000 10 < /tmp/go > /tmp/syscalls.out &
exec 3> /tmp/go
calls=$(ready_pid /tmp/syscalls.out)
start syscount syscount -p "$calls" -d 3
echo go >&3
wait $PID
exec 3>&-
verdict syscount has syscount "getppid .*1000"

start opensnoop opensnoop
cat /tmp/vmtest-missing-q9 2> /dev/null
sleep 1; stop
verdict opensnoop has opensnoop "vmtest-missing-q9"

# fstat on a descriptor: the file's own path, resolved in the kernel.
start statsnoop statsnoop -s
echo go | tracer-stats /tmp/vmtest-stats-q9 > /dev/null
sleep 1; stop
verdict statsnoop has statsnoop "newfstat .*/tmp/vmtest-stats-q9/present$"

# fsync on the ext4 image: the call, its latency and the file.
start syncsnoop syncsnoop
echo go | tracer-syncs /mnt/vmtest-sync-q9 > /dev/null
sleep 1; stop
verdict syncsnoop has syncsnoop "fsync .* 0 /mnt/vmtest-sync-q9$"

# A tmpfs mounted on a unique directory and unmounted, with its arguments.
start mountsnoop mountsnoop
echo go | tracer-mounts /tmp/vmtest-mnt-q9 > /dev/null
sleep 1; stop
mounted_and_unmounted() {
    has mountsnoop 'mount("vmtest-mnt-q9", "/tmp/vmtest-mnt-q9", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=700") = 0$' &&
        has mountsnoop 'umount2("/tmp/vmtest-mnt-q9", 0x0) = 0$'
}
verdict mountsnoop mounted_and_unmounted

# A file created, renamed 100 ms later and deleted 200 ms after that, by
# other processes: reported once, under its last name, aged from its
# creation (fentry: kept by its dentry, which mv keeps). A file that existed
# before the run, opened with O_CREAT (`>>`) and deleted, is not reported
# (FMODE_CREATED read on this kernel, by vfs_open's program here).
echo before > /tmp/vmtest-life-old-q9
start filelife filelife
touch /tmp/vmtest-life-q9; sleep 0.1; mv /tmp/vmtest-life-q9 /tmp/vmtest-life-moved-q9
sleep 0.2; rm /tmp/vmtest-life-moved-q9
echo again >> /tmp/vmtest-life-old-q9; rm /tmp/vmtest-life-old-q9
sleep 1; stop
renamed_once_existing_not() {
    has filelife " 0\.[34][0-9] *vmtest-life-moved-q9$" && [ "$(grep -c vmtest-life /tmp/filelife.out)" = 1 ]
}
verdict filelife renamed_once_existing_not

# The other two paths, forced: kprobes, then the syscall tracepoints. A
# file created (touch), deleted 300 ms later: its name and age.
start filelife_kprobe filelife --hook kprobe
touch /tmp/vmtest-life-kprobe-q9; sleep 0.3; rm /tmp/vmtest-life-kprobe-q9
sleep 1; stop
verdict filelife_kprobe has filelife_kprobe " 0\.[34][0-9] *vmtest-life-kprobe-q9$"

# The tracepoints' FMODE_CREATED read is checked here too: an existing file
# reopened with O_CREAT ('>>') and deleted is not reported.
echo before > /tmp/vmtest-life-tp-old-q9
start filelife_tracepoint filelife --hook tracepoint
touch /tmp/vmtest-life-tp-q9; sleep 0.3; rm /tmp/vmtest-life-tp-q9
echo again >> /tmp/vmtest-life-tp-old-q9; rm /tmp/vmtest-life-tp-old-q9
sleep 1; stop
created_once_existing_not() {
    has filelife_tracepoint " 0\.[34][0-9] *vmtest-life-tp-q9$" &&
        [ "$(grep -c vmtest-life /tmp/filelife_tracepoint.out)" = 1 ]
}
verdict filelife_tracepoint created_once_existing_not

start cpudist cpudist 1 2
tracer-burn 2 2 distvm > /dev/null
wait $PID
verdict cpudist has cpudist "p99"

start runqlen runqlen 1 2
tracer-burn 4 2 lenvm > /dev/null
wait $PID
verdict runqlen has runqlen "runqlen"

# tcpaccept: the accepting process (sockcalls, accept(2)) with the port it listened on.
start tcpaccept tcpaccept
echo go | tracer-sockcalls v4 5 > /tmp/sockcalls.out
sleep 1; stop
port=$(sed -n 's/^tcp \([0-9]*\)/\1/p' /tmp/sockcalls.out)
verdict tcpaccept has tcpaccept "sockcalls *4 *127.0.0.1 .* 127.0.0.1 *$port *$"

# bindsnoop -x: the listener's bind (SO_REUSEADDR) and the second bind of its port, refused.
start bindsnoop bindsnoop -x
echo go | tracer-sockcalls v4 5 > /tmp/sockcalls.out
sleep 1; stop
port=$(sed -n 's/^tcp \([0-9]*\)/\1/p' /tmp/sockcalls.out)
bound_and_refused() {
    has bindsnoop "sockcalls *0 *TCP *\.\.\.R\. *0 *$port *127.0.0.1$" &&
        has bindsnoop "sockcalls *-98 *TCP *\.\.\.\.\. *0 *$port *127.0.0.1$"
}
verdict bindsnoop bound_and_refused

# solisten: the listen with its backlog (9) and the port the kernel gave the listener.
start solisten solisten
echo go | tracer-sockcalls v4 9 > /tmp/sockcalls.out
sleep 1; stop
port=$(sed -n 's/^tcp \([0-9]*\)/\1/p' /tmp/sockcalls.out)
verdict solisten has solisten "sockcalls *0 *9 *TCPv4 *$port *127.0.0.1$"

# runqslower: three burners on the guest's one vCPU wait behind each other;
# forced raw_tp and tracepoint too (-t on the classic records), every line over 1000 us.
slowvm_lines() { has $1 "slowvm-q9" && ! awk '/slowvm-q9/ && $4 <= 1000 { bad = 1 } END { exit !bad }' /tmp/$1.out; }
for hook in default raw_tp tracepoint; do
    name=runqslower; [ $hook = default ] || name=runqslower_$hook
    if [ $hook = default ]; then set -- ; else set -- --hook $hook; fi
    tracer-burn 3 4 slowvm-q9 > /tmp/slowvm.out &
    burner=$(ready_pid /tmp/slowvm.out)
    start $name runqslower -P "$@" 1000
    sleep 2; stop; wait $burner
    verdict $name slowvm_lines $name
done
# sigsnoop: tracer-sigs' SIGUSR2, ignored by its target (RESULT 1); killsnoop -x: its kill of a missing PID (ESRCH).
start sigsnoop sigsnoop -n
sigsnoop_pid=$PID
start killsnoop killsnoop -x
echo go | tracer-sigs > /tmp/sigs.out
sleep 1; stop; kill -INT $sigsnoop_pid; wait $sigsnoop_pid
target=$(sed -n 's/^target \([0-9]*\)/\1/p' /tmp/sigs.out)
missing=$(sed -n 's/^missing \([0-9]*\)/\1/p' /tmp/sigs.out)
verdict sigsnoop has sigsnoop "sigs-sender *SIGUSR2 *$target *sigs-target *1 *$"
verdict killsnoop has killsnoop "sigs-sender *10 *$missing *-3$"

# softirqs -C: a loopback TCP session runs NET_RX; hardirqs: the console's
# own output (ttyS0) interrupts, at least one named row with a count.
start softirqs softirqs -C 1 2
tcp_session
wait $PID
verdict softirqs has softirqs "^net_rx *[0-9]* *[1-9]"
start hardirqs hardirqs 1 2
seq 1 40 | sed 's/^/--- hardirqs console line /'
wait $PID
verdict hardirqs has hardirqs "^[^ ][^ ]* *[1-9][0-9]* *[0-9][0-9]* *[0-9][0-9]*$"
# oomkill: a hog in a 64 MiB memory cgroup (v2) allocates 200 MiB; each hook
# names it as the victim and as the trigger, with pages and its cgroup.
mkdir -p /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && echo +memory > /sys/fs/cgroup/cgroup.subtree_control
oom_run() { # NAME TRACER-ARGS...
    mkdir /sys/fs/cgroup/$1 && echo $((64 << 20)) > /sys/fs/cgroup/$1/memory.max
    start "$@"
    echo go | sh -c "echo \$\$ > /sys/fs/cgroup/$1/cgroup.procs; exec tracer-oomhog 200" > /tmp/$1.hog
    sleep 1; stop
    hpid=$(sed -n 's/^ready \([0-9]*\).*/\1/p' /tmp/$1.hog)
    verdict $1 has $1 "Triggered by PID $hpid (\"tracer-oomhog\"), OOM kill of PID $hpid (\"tracer-oomhog\"), [1-9][0-9]* pages, .*cgroup: /$1$"
}
oom_run oomkill oomkill
oom_run oomkill_kprobe oomkill --hook kprobe
oom_run oomkill_tp oomkill --hook tracepoint

tracer use -d 2 --json > /tmp/use.out 2> /tmp/use.err
verdict use has use '"cells"'

echo "=== done"
poweroff -f
