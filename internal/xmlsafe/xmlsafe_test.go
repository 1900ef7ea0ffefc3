package xmlsafe

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	root, err := Parse([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<!-- c --><a:r xmlns:a="urn:a" xmlns="urn:d" x="1" a:y="2"><c>te<!-- x -->xt</c><a:d/><e xmlns="urn:e"/></a:r>`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if root.Name() != "a:r" || root.Space != "urn:a" || root.HasText || len(root.Children) != 3 {
		t.Fatalf("root = %+v", root)
	}
	if v, ok := root.Attr("x"); !ok || v != "1" {
		t.Errorf(`Attr("x") = %q, %v`, v, ok)
	}
	if _, ok := root.Attr("y"); ok {
		t.Error(`prefixed attribute a:y returned as "y"`)
	}
	if len(root.Attrs) != 2 || root.Attrs[1].Space != "urn:a" {
		t.Errorf("attrs = %+v", root.Attrs)
	}
	c, d, e := root.Children[0], root.Children[1], root.Children[2]
	if c.Space != "urn:d" || c.Text != "text" || !c.HasText {
		t.Errorf("c = %+v", c)
	}
	if d.Space != "urn:a" || d.Prefix != "a" || e.Space != "urn:e" {
		t.Errorf("d = %+v, e = %+v", d, e)
	}
}

func TestParseRejects(t *testing.T) {
	tests := map[string]struct {
		in   string
		lim  Limits
		want error
	}{
		"empty":              {"", Limits{}, ErrSyntax},
		"doctype":            {`<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>`, Limits{}, ErrDoctype},
		"entity":             {`<r>&x;</r>`, Limits{}, ErrSyntax},
		"undeclared prefix":  {`<p:r/>`, Limits{}, ErrSyntax},
		"undeclared attr":    {`<r p:x="1"/>`, Limits{}, ErrSyntax},
		"duplicate attr":     {`<r x="1" x="2"/>`, Limits{}, ErrSyntax},
		"mismatched":         {`<r><a></b></r>`, Limits{}, ErrSyntax},
		"prefix mismatch":    {`<p:r xmlns:p="u" xmlns:q="u"></q:r>`, Limits{}, ErrSyntax},
		"unclosed":           {`<r><a>`, Limits{}, ErrSyntax},
		"two roots":          {`<r/><r/>`, Limits{}, ErrSyntax},
		"trailing text":      {`<r/>x`, Limits{}, ErrSyntax},
		"leading text":       {`x<r/>`, Limits{}, ErrSyntax},
		"utf-16":             {`<?xml version="1.0" encoding="UTF-16"?><r/>`, Limits{}, ErrSyntax},
		"late declaration":   {`<r/><?xml version="1.0"?>`, Limits{}, ErrSyntax},
		"deep":               {strings.Repeat("<a>", 33) + strings.Repeat("</a>", 33), Limits{}, ErrLimits},
		"wide":               {"<r>" + strings.Repeat("<a/>", 10) + "</r>", Limits{MaxElements: 10}, ErrLimits},
		"many attrs":         {`<r a="" b="" c=""/>`, Limits{MaxAttrs: 2}, ErrLimits},
		"invalid utf-8 text": {"<r>\xff</r>", Limits{}, ErrSyntax},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if n, err := Parse([]byte(tt.in), tt.lim); !errors.Is(err, tt.want) || n != nil {
				t.Fatalf("Parse = %v, %v; want %v", n, err, tt.want)
			}
		})
	}
	// Boundaries are inclusive.
	if _, err := Parse([]byte(strings.Repeat("<a>", 32)+strings.Repeat("</a>", 32)), Limits{}); err != nil {
		t.Errorf("depth 32: %v", err)
	}
	if _, err := Parse([]byte("<r>"+strings.Repeat("<a/>", 9)+"</r>"), Limits{MaxElements: 10}); err != nil {
		t.Errorf("10 elements: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`<a:r xmlns:a="urn:a"><c x="1">t</c></a:r>`))
	f.Add([]byte(`<!DOCTYPE r><r/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse(data, Limits{})
		if (err == nil) == (n == nil) {
			t.Fatalf("Parse = %v, %v", n, err)
		}
		if err != nil && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrDoctype) && !errors.Is(err, ErrLimits) {
			t.Fatalf("untyped error %v", err)
		}
	})
}
