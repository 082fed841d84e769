# Time to fence against the number of allowed names: palisade and the shell
# recipe, from bench/out/fence.dat (written by bench/fence.sh).
#
#   gnuplot -e "datafile='bench/out/fence.dat'; outfile='bench/fence.png'" bench/fence.gnuplot

if (!exists("datafile")) datafile = 'bench/out/fence.dat'
if (!exists("outfile")) outfile = 'bench/fence.png'

set terminal pngcairo size 800,500 enhanced font 'sans,10'
set output outfile
set title 'Time to fence: from start to the agent''s exec (median, sandbox cost subtracted)'
set xlabel 'allowed names (each with one A and one AAAA record)'
set ylabel 'time to fence (ms, log scale)'
set logscale xy
set xrange [7:1500]
set grid xtics ytics mytics
set key bottom right box opaque
set format y '%g'
set xtics (10, 20, 50, 100, 200, 500, 1000)

# columns: names sandbox palisade_raw palisade_net recipe_sandbox recipe_raw recipe_net
#          palisade_resolving palisade_setup nft_raw nft_net
plot datafile using 1:7 with linespoints lw 2 pt 7 lc rgb '#c0392b' title 'shell recipe (init-firewall.sh: dig, ipset, iptables, setpriv)', \
     datafile using 1:4 with linespoints lw 2 pt 5 lc rgb '#2471a3' title 'palisade, --backend legacy (iptables, ipset)', \
     datafile using 1:11 with linespoints lw 2 pt 9 lc rgb '#1e8449' title 'palisade, --backend nft', \
     datafile using 1:8 with linespoints lw 1 dt 2 pt 1 lc rgb '#7f8c8d' title 'of which palisade resolving the names (A and AAAA)'
