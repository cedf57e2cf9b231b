# SPDX-License-Identifier: MIT
# Chart of demos/results/memory.csv: memory per waiting task against the
# number of tasks, a panel a workload, a line a model.  demos/run_memory.sh
# runs: gnuplot -e "dir='demos/results'" demos/memory/plot.gp
if (!exists("dir")) dir = 'demos/results'
csv = dir.'/memory.csv'
set datafile separator ','
models = "pagedstack threads mmap-8M malloc-128K copy-stack fcontext"
works = "shallow-1K live-64K call-512K deep-1pct-4M"
titles = "'(a) every task waits with 1 KiB live' \
'(b) every task waits with 64 KiB live' \
'(c) each once calls a 512 KiB function, waits with 1 KiB' \
'(d) 1% wait 4 MiB deep, the rest with 1 KiB'"
# CSV columns: 1 model, 2 workload, 3 n, 4 made, 5 status, 6 per_task_bytes.
pick(m, w) = (strcol(1) eq m && strcol(2) eq w && strcol(5) eq "ok") ? column(6) : NaN
# Cells stopped by a hard limit: marked at the number of tasks they reached.
wall(m, w) = (strcol(1) eq m && strcol(2) eq w && (strcol(5) eq "mapcount" || strcol(5) eq "eagain")) ? column(6) : NaN

set logscale xy
set xrange [700:1.4e6]
set yrange [512:2*1024*1024]
set xtics ("1k" 1e3, "10k" 1e4, "100k" 1e5, "1M" 1e6)
set ytics ("512 B" 512, "2 KiB" 2048, "8 KiB" 8192, "32 KiB" 32768, \
           "128 KiB" 131072, "512 KiB" 524288, "2 MiB" 2097152)
set grid xtics ytics lc rgb '#dddddd'
set xlabel 'tasks waiting (N)'
set ylabel 'memory per task'
set key top right font ',9' spacing 0.9
colors = "#d62728 #1f77b4 #2ca02c #9467bd #ff7f0e #8c564b"
do for [i=1:6] { set style line i lc rgb word(colors, i) lw 2 pt 4 + 2 * i ps 1.0 }
set terminal pngcairo size 1400,1050 font 'Sans,10'
set output dir.'/memory.png'
set multiplot layout 2,2 title "Memory per waiting task: cgroup charge / N (lower is better).  Every model lets a task use 8 MiB, except malloc-128K (128 KiB).\nA line ends where the model could not go further (x: stopped by vm.max_map_count or the thread limit, at the tasks it reached)\nor where the next N would not fit the demo's budget (16 GiB of memory, 50 s per cell).  Details: memory.md" font ',12' noenhanced
do for [k=1:4] {
    w = word(works, k)
    set title word(titles, k) font ',11' noenhanced
    plot for [i=1:6] csv using (pick(word(models, i), w) == pick(word(models, i), w) ? column(3) : NaN):(pick(word(models, i), w)) \
         with linespoints ls i title word(models, i) noenhanced, \
         for [i=1:6] csv using (wall(word(models, i), w) == wall(word(models, i), w) ? column(4) : NaN):(wall(word(models, i), w)) \
         with points ls i pt 2 ps 3 lw 3 notitle, \
         NaN with points pt 2 ps 2 lw 2 lc rgb 'black' title 'stopped by a limit'
}
unset multiplot
