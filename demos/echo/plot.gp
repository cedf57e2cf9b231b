# SPDX-License-Identifier: MIT
# The echo comparison's chart: requests per second, p99 latency and memory
# per connection, per model, at two N.  Run by demos/echo/run.sh with
# data='summary file', outfile='png', n1 and n2 (the two N).  One line per
# model: model rps@n1 rps@n2 p99@n1 p99@n2 cgroupKiB@n1 cgroupKiB@n2.
set terminal pngcairo size 1350,420 font ",10"
set output outfile
set multiplot layout 1,3 title "Echo server: pagedstack + libuv against thread-per-connection (1% of requests need 1 MiB of stack)"
set style data histograms
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key top right
set yrange [0:*]

set title "requests per second (higher is better)"
plot data using 2:xtic(1) title "N = ".n1, '' using 3 title "N = ".n2

set title "p99 latency, ms (lower is better)"
plot data using ($4/1000):xtic(1) title "N = ".n1, '' using ($5/1000) title "N = ".n2

set title "memory per connection, KiB (cgroup; lower is better)"
plot data using 6:xtic(1) title "N = ".n1, '' using 7 title "N = ".n2
unset multiplot
