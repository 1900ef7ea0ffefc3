// Command report turns the output of BenchmarkOps into the table of
// BENCHMARKS.md: ops/s, allocations, the share of each op spent outside
// its bare cryptography (prim/<op> from the same run), and the ratio to
// the Ruby reference's figures where known. With several -count runs it
// uses the median.
//
//	go test -run='^$' -bench='^BenchmarkOps$' -count=5 ./internal/harness/benchops | go run ./internal/harness/benchops/report
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// reference holds the Ruby reference's figures (µs per op) measured on
// this machine class, one core, same files (issue #8).
var reference = map[string]float64{
	"receive_public/status_message_basic":        316,
	"receive_public/status_message_4096":         358,
	"receive_private/status_message_to_4096":     3700,
	"entity_parse_xml/status_message_basic":      120,
	"entity_parse_xml/status_message_all_nested": 1300,
}

var line = regexp.MustCompile(`^BenchmarkOps/(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+(\d+) allocs/op)?`)

type sample struct{ ns, bytes, allocs []float64 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	samples := map[string]*sample{}
	var order []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := line.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		s, ok := samples[m[1]]
		if !ok {
			s = &sample{}
			samples[m[1]] = s
			order = append(order, m[1])
		}
		f := func(x string) float64 { v, _ := strconv.ParseFloat(x, 64); return v }
		s.ns = append(s.ns, f(m[2]))
		s.bytes = append(s.bytes, f(m[3]))
		s.allocs = append(s.allocs, f(m[4]))
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(order) == 0 {
		return fmt.Errorf("no BenchmarkOps lines on standard input")
	}
	fmt.Fprintf(out, "| op | µs/op | ops/s | B/op | allocs/op | crypto µs | outside crypto | reference µs | × reference |\n")
	fmt.Fprintf(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, name := range order {
		if strings.HasPrefix(name, "prim/") {
			continue
		}
		s := samples[name]
		ns := median(s.ns)
		row := fmt.Sprintf("| %s | %.1f | %.0f | %.0f | %.0f |", name, ns/1e3, 1e9/ns, median(s.bytes), median(s.allocs))
		if p, ok := samples["prim/"+name]; ok {
			pns := median(p.ns)
			row += fmt.Sprintf(" %.1f | %.0f %% |", pns/1e3, 100*(1-pns/ns))
		} else {
			row += " – | 100 % |"
		}
		if ref, ok := reference[name]; ok {
			row += fmt.Sprintf(" %.0f | %.1f× |", ref, ref/(ns/1e3))
		} else {
			row += " | |"
		}
		fmt.Fprintln(out, row)
	}
	return nil
}
