package main

import (
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	in := `goos: linux
BenchmarkOps/receive_public/status_message_basic-2    1000   100000 ns/op   12000 B/op   150 allocs/op
BenchmarkOps/receive_public/status_message_basic-2    1000   120000 ns/op   12000 B/op   150 allocs/op
BenchmarkOps/receive_public/status_message_basic-2    1000   110000 ns/op   12000 B/op   150 allocs/op
BenchmarkOps/entity_parse_xml/status_message_basic-2  1000     6000 ns/op    4000 B/op    50 allocs/op
BenchmarkOps/prim/receive_public/status_message_basic-2 1000  80000 ns/op   1376 B/op     9 allocs/op
PASS`
	var out strings.Builder
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"| receive_public/status_message_basic | 110.0 | 9091 | 12000 | 150 | 80.0 | 27 % | 316 | 2.9× |",
		"| entity_parse_xml/status_message_basic | 6.0 | 166667 | 4000 | 50 | – | 100 % | 120 | 20.0× |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing row %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "| prim/") {
		t.Error("prim rows printed as ops")
	}
	if err := run(strings.NewReader("nothing"), &out); err == nil {
		t.Error("no input accepted")
	}
}
