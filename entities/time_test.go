package entities_test

import (
	"strings"
	"testing"
	"time"

	"github.com/go-diaspora/federation/entities"
)

// parseTimeCases maps a timestamp as received to its normalised value, ""
// for "no value". The first groups are the reference's own verdicts on
// mutated test vectors; the others were checked against Ruby's Time.parse
// (on a host in UTC), or are the documented deliberate differences.
var parseTimeCases = []struct {
	in, want string
}{
	// The canonical form and RFC 3339 variants.
	{"2023-04-05T06:07:08Z", "2023-04-05T06:07:08Z"},
	{"2023-04-05T06:07:08+00:00", "2023-04-05T06:07:08Z"},
	{"2023-04-05T06:12:08-00:00", "2023-04-05T06:12:08Z"},
	{"2023-04-05T00:37:08-05:30", "2023-04-05T06:07:08Z"},
	{"2023-04-05T08:07:28+02:00", "2023-04-05T06:07:28Z"},
	{"2023-04-05T08:07:09+0200", "2023-04-05T06:07:09Z"},
	{"2023-04-06T08:07:08+0200", "2023-04-06T06:07:08Z"},
	{"2023-04-05T06:07:13.123Z", "2023-04-05T06:07:13Z"},
	{"2023-04-05T06:12:08.000000Z", "2023-04-05T06:12:08Z"},
	{"2023-04-05T06:12:08.999999999Z", "2023-04-05T06:12:08Z"},
	{"2023-04-05T07:07:08.5+00:00", "2023-04-05T07:07:08Z"},
	{"2023-04-05T06:12:08,5Z", "2023-04-05T06:12:08Z"},
	{"0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"},
	{"1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"},
	{"9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"},
	{"10000-01-01T00:00:00Z", "10000-01-01T00:00:00Z"},
	// RFC 3339 without seconds, lower-case t and z, a space before Z.
	{"2023-04-05T06:07Z", "2023-04-05T06:07:00Z"},
	{"2023-04-05T06:12Z", "2023-04-05T06:12:00Z"},
	{"2023-04-05t06:22:07z", "2023-04-05T06:22:07Z"},
	{"2023-04-05t06:12:08z", "2023-04-05T06:12:08Z"},
	{"2023-04-05T06:07:13 Z", "2023-04-05T06:07:13Z"},
	{"2023-04-05T06:13:48 Z", "2023-04-05T06:13:48Z"},
	// 24:00:00 and a leap second.
	{"2023-04-05T24:00:00Z", "2023-04-06T00:00:00Z"},
	{"2023-04-05T06:23:60Z", "2023-04-05T06:24:00Z"},
	// Without a zone, the legacy form, a date alone.
	{"2023-04-05T06:07:28", "2023-04-05T06:07:28Z"},
	{"2023-04-05 06:12:08", "2023-04-05T06:12:08Z"},
	{"2015-04-22 11:15:23 UTC", "2015-04-22T11:15:23Z"},
	{"2023-04-05 06:07:48 UTC", "2023-04-05T06:07:48Z"},
	{"2023-04-05 06:23:08 +0000", "2023-04-05T06:23:08Z"},
	{"2023-04-05", "2023-04-05T00:00:00Z"},
	// ISO 8601 basic.
	{"20230405T060808Z", "2023-04-05T06:08:08Z"},
	{"20230405T060908Z", "2023-04-05T06:09:08Z"},
	// Slashes and day-first dots.
	{"2023/04/05 06:07:08 UTC", "2023-04-05T06:07:08Z"},
	{"2023/04/05 06:09:08 UTC", "2023-04-05T06:09:08Z"},
	{"05.04.2023 06:07:13", "2023-04-05T06:07:13Z"},
	{"05.04.2023 06:12:08", "2023-04-05T06:12:08Z"},
	// RFC 2822 / 1123, RFC 850, asctime.
	{"Wed, 05 Apr 2023 06:07:08 +0000", "2023-04-05T06:07:08Z"},
	{"Wed, 05 Apr 2023 06:07:08 GMT", "2023-04-05T06:07:08Z"},
	{"Wed, 05 Apr 2023 06:12:08 GMT", "2023-04-05T06:12:08Z"},
	{"Wednesday, 05-Apr-23 06:22:08 UTC", "2023-04-05T06:22:08Z"},
	{"Thursday, 06-Apr-23 06:07:08 UTC", "2023-04-06T06:07:08Z"},
	{"Wed Apr 05 06:07:08 UTC 2023", "2023-04-05T06:07:08Z"},
	{"Wed Apr 05 06:09:08 UTC 2023", "2023-04-05T06:09:08Z"},
	// Separators at the ends, and text after Z, which the reference
	// ignores.
	{" \n 2023-04-05T06:22:07Z\n    ", "2023-04-05T06:22:07Z"},
	{"\t2023-04-05T06:12:08Z\u3000", "2023-04-05T06:12:08Z"},
	{"\u200f2023-04-05T06:22:07Z", "2023-04-05T06:22:07Z"},
	{"\ufeff2023-04-05T06:23:08Z", "2023-04-05T06:23:08Z"},
	{"2023-04-05T06:07:08Z\ufeff", "2023-04-05T06:07:08Z"},
	{"2023-04-05T06:07:13Z\U0001F600", "2023-04-05T06:07:13Z"},
	{"2023-04-05T06:12:08Z><&", "2023-04-05T06:12:08Z"},
	{"2023-04-05T06:07:13ZA", "2023-04-05T06:07:13Z"},
	{"2023-04-06T06:07:08Zx", "2023-04-06T06:07:08Z"},
	{"2023-04-05T06:12:08Zline\nbreakhere", "2023-04-05T06:12:08Z"},
	{"2023-04-05T06:07:09Z2023-04-05T06:07:09Z", "2023-04-05T06:07:09Z"},
	{"2023-04-05T06:07:38Z\u00e9", "2023-04-05T06:07:38Z"},
	{"\uffff2023-04-05T06:12:08Z", "2023-04-05T06:12:08Z"},
	// No value, as for the reference.
	{"", ""},
	{"   ", ""},
	{"0", ""},
	{"not a date", ""},
	{"1680674878", ""},
	{"2021-13-01T00:00:00Z", ""},
	{"2021-12-01T00:00:00+25:00", ""},
	{"2023\u200b-04-05T06:23:49Z", ""},
	{"2023-0\ufeff4-05T06:12:08Z", ""},
	{"2023-\x7f04-05T06:12:08Z", ""},
	{strings.Repeat("x", 256), ""},

	// Checked against Time.parse.
	{"2023-04-05T06:07:08 GMT", "2023-04-05T06:07:08Z"},
	{"2023-04-05T06:07:08UTC", "2023-04-05T06:07:08Z"},
	{"2023-04-05T06:07:08 utc", "2023-04-05T06:07:08Z"},
	{"2023-04-05T06:07:08 EST", "2023-04-05T11:07:08Z"},
	{"2023-04-05T06:07:08 +02:00", "2023-04-05T04:07:08Z"},
	{"2023-04-05T06:07:08+02", "2023-04-05T04:07:08Z"},
	{"2023-04-05T06:07:08+23:59", "2023-04-04T06:08:08Z"},
	{"2023-04-05T06:07:08.Z", "2023-04-05T06:07:08Z"},
	{"2023-4-5T6:07:08Z", "2023-04-05T06:07:08Z"},
	{"02023-04-05T06:07:08Z", "2023-04-05T06:07:08Z"},
	{"2023-04-05T24:00:00+01:00", "2023-04-05T23:00:00Z"},
	{"2023-04-05T06:23:60-01:00", "2023-04-05T07:24:00Z"},
	{"2024-02-29T06:07:08Z", "2024-02-29T06:07:08Z"},
	{"2023-04-05T06:07:08Z-05:00", "2023-04-05T06:07:08Z"},
	{"2023-04-05T06:07:08Zulu", "2023-04-05T06:07:08Z"},
	{"(2023-04-05T06:07:08+02:00)", "2023-04-05T04:07:08Z"},
	{"20230405t060808z", "2023-04-05T06:08:08Z"},
	{"20230405T060808.5Z", "2023-04-05T06:08:08Z"},
	{"20230405T060808+0200", "2023-04-05T04:08:08Z"},
	{"20230405T060808", "2023-04-05T06:08:08Z"},
	{"2023/4/5 06:07:08 UTC", "2023-04-05T06:07:08Z"},
	{"2023/04/05", "2023-04-05T00:00:00Z"},
	{"5.4.2023 06:07:13", "2023-04-05T06:07:13Z"},
	{"05.04.2023", "2023-04-05T00:00:00Z"},
	{"Wed, 5 Apr 2023 06:07:08 EST", "2023-04-05T11:07:08Z"},
	{"Wed, 05 Apr 23 06:07:08 GMT", "2023-04-05T06:07:08Z"},
	{"Wed, 05 Apr 69 06:07:08 GMT", "1969-04-05T06:07:08Z"},
	{"05 Apr 2023 06:07:08 +0200", "2023-04-05T04:07:08Z"},
	{"Wed, 05 Apr 2023 06:07 GMT", "2023-04-05T06:07:00Z"},
	{"Wed, 05 Apr 2023 06:07:08", "2023-04-05T06:07:08Z"},
	{"Mon, 05 Apr 2023 06:07:08 GMT", "2023-04-05T06:07:08Z"},
	{"wed, 05 APR 2023 06:07:08 gmt", "2023-04-05T06:07:08Z"},
	{"Wed, 05 April 2023 06:07:08 GMT", "2023-04-05T06:07:08Z"},
	{"Tue, 05 Sept 2023 06:07:08 GMT", "2023-09-05T06:07:08Z"},
	{"Thursday, 06-Apr-2023 06:07:08 UTC", "2023-04-06T06:07:08Z"},
	{"Wed Apr  5 06:07:08 2023", "2023-04-05T06:07:08Z"},
	{"Wed Apr 05 06:07:08 +0000 2023", "2023-04-05T06:07:08Z"},
	{"Wed Apr 05 06:07:08 -0700 2023", "2023-04-05T13:07:08Z"},
	{"Apr 05 06:07:08 UTC 2023", "2023-04-05T06:07:08Z"},
	{"Wednesday April 5 06:07:08 UTC 2023", "2023-04-05T06:07:08Z"},

	// Deliberate differences: the reference has a value, ParseTime none.
	// Roll-over of impossible dates.
	{"2021-02-30T00:00:00Z", ""},
	{"2021-04-31T00:00:00Z", ""},
	{"2023-02-29T06:07:08Z", ""},
	{"Thu, 31 Apr 2023 06:07:08 GMT", ""},
	// Zones whose value depends on the host's zone, or out of range.
	{"2023-04-05T06:07:13 CEST", ""},
	{"2023-04-05T06:07:08 A", ""},
	{"2023-04-05T06:07:08 UTC+2", ""},
	{"2023-04-05T06:07:08+2", ""},
	{"2023-04-05T06:07:08+02:75", ""},
	{"2023-04-05T06:07:08+02:00:30", ""},
	{"2023-04-05T06:07:08+24:00", ""},
	{"2023-04-05T06:07:08 pm", ""},
	// Trailing text that the reference reads as part of the date, or that
	// follows something else than Z.
	{"2023-04-05T06:07:08Z apr", ""},
	{"2023-04-05T06:07:08Z bc", ""},
	{"2023-04-05T06:07:08Z 1 jan", ""},
	{"2023-04-05T06:07:08Z \u017fep 3", ""},
	{"2023-04-05T06:07:08+02:00junk", ""},
	{"2023-04-05T06:07:08+02005", ""},
	{"20230405T060808+02:30", ""},
	{"2023-04-05T06:07:08Zx" + strings.Repeat("x", 44), ""},
	// Other forms and values out of range.
	{"2023-04-05T24:30:00Z", ""},
	{"2023-04-05T24:00:00+23:30", ""},
	{"2023-04-05T06:23:61Z", ""},
	{"0000-01-01T00:00:00+01:00", ""},
	{"-0001-01-01T00:00:00Z", ""},
	{"20230405", ""},
	{"x2023-04-05T06:07:08Z", ""},
}

func TestParseTime(t *testing.T) {
	for _, c := range parseTimeCases {
		got, ok := entities.ParseTime(c.in)
		if ok != (c.want != "") {
			t.Errorf("ParseTime(%q): ok = %v, want %v (got %v)", c.in, ok, !ok, got)
			continue
		}
		if !ok {
			if !got.IsZero() {
				t.Errorf("ParseTime(%q) = %v, false; want the zero time", c.in, got)
			}
			continue
		}
		if s := entities.FormatTime(got); s != c.want {
			t.Errorf("ParseTime(%q) = %s, want %s", c.in, s, c.want)
		}
		if got.Location() != time.UTC || got.Nanosecond() != 0 {
			t.Errorf("ParseTime(%q) = %v, not UTC in whole seconds", c.in, got)
		}
	}
}

func TestParseTimeCanonicalAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { entities.ParseTime("2023-04-05T06:07:08Z") }); n != 0 {
		t.Errorf("ParseTime of the canonical form allocates %v times", n)
	}
}

func FuzzParseTime(f *testing.F) {
	for _, c := range parseTimeCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := entities.ParseTime(s)
		if !ok {
			if !got.IsZero() {
				t.Fatalf("ParseTime(%q) = %v, false", s, got)
			}
			return
		}
		if got.Location() != time.UTC || got.Nanosecond() != 0 {
			t.Fatalf("ParseTime(%q) = %v, not UTC in whole seconds", s, got)
		}
		if got.IsZero() {
			return // FormatTime writes the zero time as ""
		}
		canon := entities.FormatTime(got)
		again, ok := entities.ParseTime(canon)
		if !ok || !again.Equal(got) {
			t.Fatalf("ParseTime(%q) = %s, which reads back as %v, %v", s, canon, again, ok)
		}
	})
}

func BenchmarkParseTime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := entities.ParseTime("2023-04-05T06:07:08Z"); !ok {
			b.Fatal("canonical form refused")
		}
	}
}

func BenchmarkParseTimeOtherForms(b *testing.B) {
	for _, c := range []struct{ name, in string }{
		{"RFC3339", "2023-04-05T08:07:08.123+02:00"},
		{"legacy", "2015-04-22 11:15:23 UTC"},
		{"RFC2822", "Wed, 05 Apr 2023 06:07:08 +0000"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := entities.ParseTime(c.in); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}
