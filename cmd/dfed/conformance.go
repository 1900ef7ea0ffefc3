package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/go-diaspora/federation/internal/harness/conformance"
	"github.com/go-diaspora/federation/internal/harness/vectors"
)

// conformanceCmd runs every vector of the given manifests through the SDK
// and compares the verdicts with the manifests' expectations. It exits 2,
// judging nothing, when an argument is no manifest (see vectors.Load) or
// a manifest has no vectors.
func conformanceCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print what was decoded, one JSON object per vector, instead of verdicts")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: dfed conformance [--json] MANIFEST.json...")
		return 2
	}
	// Load every manifest first, so that a bad one stops the run before
	// any verdict is printed.
	manifests := make([]*vectors.Manifest, 0, fs.NArg())
	for _, path := range fs.Args() {
		m, err := vectors.Load(path)
		if err != nil {
			fmt.Fprintf(stderr, "dfed: %v\n", err)
			return 2
		}
		if len(m.Vectors) == 0 {
			fmt.Fprintf(stderr, "dfed: %s: the manifest has no vectors\n", path)
			return 2
		}
		manifests = append(manifests, m)
	}
	passed, failed := 0, 0
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, m := range manifests {
		for _, r := range conformance.Run(context.Background(), m) {
			if r.Pass {
				passed++
			} else {
				failed++
			}
			if *asJSON {
				out := struct {
					ID string `json:"id"`
					conformance.Verdict
				}{r.ID, r.Verdict}
				if err := enc.Encode(out); err != nil {
					return 2
				}
				continue
			}
			if r.Pass {
				fmt.Fprintf(stdout, "PASS %s\n", r.ID)
			} else {
				fmt.Fprintf(stdout, "FAIL %s: %s\n", r.ID, r.Why)
			}
		}
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	}
	if failed > 0 {
		return 1
	}
	return 0
}
