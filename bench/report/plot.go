// The throughput and memory plot, drawn by gnuplot.

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// drawPlot writes gnuplot data and script and runs gnuplot: throughput on
// top, RSS below, one line per pipeline.
func drawPlot(dir string, rows []*row, png string) error {
	if _, err := exec.LookPath("gnuplot"); err != nil {
		return errors.New("gnuplot is not installed")
	}
	var ss []series
	for _, r := range rows {
		f := filepath.Join(dir, r.info.id+"-r1.csv")
		if _, err := os.Stat(f); err != nil || !ok(r) {
			continue
		}
		dat := filepath.Join(dir, r.info.id+"-plot.dat")
		if err := csvToDat(f, dat); err != nil {
			return err
		}
		ss = append(ss, series{r.info.id + " " + r.info.role, dat})
	}
	if len(ss) == 0 {
		return errors.New("no samples to plot")
	}
	abs, err := filepath.Abs(png)
	if err != nil {
		return err
	}
	var g strings.Builder
	fmt.Fprintf(&g, "set terminal pngcairo size 1100,760 font 'sans,11'\nset output '%s'\n", abs)
	g.WriteString("set multiplot layout 2,1 title 'otelcol-tasker pipelines: one sample a second (collector GOMAXPROCS=1)'\n")
	g.WriteString("set grid\nset key outside right top\nset xlabel 'seconds since the pipeline started'\nset xrange [0:*]\n")
	g.WriteString("set ylabel 'events/s accepted'\nset format y '%.0s%c'\nset yrange [0:*]\n")
	plotLines(&g, ss, 3)
	g.WriteString("set ylabel 'collector RSS (MiB)'\nset format y '%g'\nset yrange [0:*]\n")
	plotLines(&g, ss, 4)
	g.WriteString("unset multiplot\n")
	script := filepath.Join(dir, "plot.gp")
	if err := os.WriteFile(script, []byte(g.String()), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("gnuplot", script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gnuplot failed: %v %s", err, firstLine(string(out)))
	}
	return nil
}

type series struct{ id, file string }

func plotLines(g *strings.Builder, ss []series, col int) {
	g.WriteString("plot ")
	for i, s := range ss {
		if i > 0 {
			g.WriteString(", ")
		}
		fmt.Fprintf(g, "'%s' using 1:%d with lines lw 2 title '%s'", s.file, col, s.id)
	}
	g.WriteString("\n")
}

// csvToDat turns the load generator's samples (label,t_s,phase,events_per_s,
// cpu_cores,rss_mib) into whitespace columns: t phase events rss.
func csvToDat(csvPath, datPath string) error {
	in, err := os.ReadFile(csvPath)
	if err != nil {
		return err
	}
	var out strings.Builder
	for i, l := range strings.Split(strings.TrimSpace(string(in)), "\n") {
		f := strings.Split(l, ",")
		if i == 0 || len(f) < 6 {
			continue
		}
		fmt.Fprintf(&out, "%s %s %s %s\n", f[1], f[2], f[3], f[5])
	}
	return os.WriteFile(datPath, []byte(out.String()), 0o644)
}
