package entities

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// TimeLayout is the canonical timestamp form of the protocol
// (YYYY-MM-DDTHH:MM:SSZ, always UTC).
const TimeLayout = "2006-01-02T15:04:05Z"

// FormatTime returns t in the canonical form (UTC, whole seconds, "Z"), or
// "" for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// maxTimeLen bounds the work ParseTime does: a value longer than this,
// once the separators at its ends are trimmed, is not a timestamp. Every
// form it reads fits, with room for a nine-digit fraction.
const maxTimeLen = 64

// ParseTime reads a timestamp and returns it in UTC, truncated to whole
// seconds, with ok false if s holds no timestamp ("no value").
//
// The reference reads timestamps with Ruby's Time.parse
// (https://docs.ruby-lang.org/en/master/Time.html#method-c-parse, built on
// Date._parse) and normalises them to UTC, whole seconds; relayable
// signatures are computed over that normalised value, so ParseTime must
// give the same value for every form it reads. It reads:
//
//   - the canonical form 2006-01-02T15:04:05Z, checked first and cheaply;
//   - ISO 8601 extended / RFC 3339: YYYY-MM-DD, then "T", "t" or spaces and
//     hh:mm, hh:mm:ss or hh:mm:ss.fff (a fraction after "." or ","), then
//     optional spaces and a zone: "Z" or "z", ±hh:mm, ±hhmm or ±hh, or a
//     zone name (below). Without a time it is midnight UTC. This covers
//     RFC 3339 without seconds (2023-04-05T06:07Z), lower-case t and z, a
//     space before Z and the legacy 2015-04-22 11:15:23 UTC;
//   - ISO 8601 basic: YYYYMMDDThhmmss[.fff], then "Z", ±hhmm or ±hh;
//   - YYYY/MM/DD and DD.MM.YYYY (day first, as the reference reads it),
//     each with an optional time and zone as above;
//   - RFC 2822 / RFC 1123 (Wed, 05 Apr 2023 06:07:08 +0000, ... GMT), the
//     weekday optional, a two-digit year allowed; RFC 850 (Wednesday,
//     05-Apr-23 06:07:08 UTC); and the asctime / date(1) form
//     (Wed Apr 05 06:07:08 UTC 2023, the zone optional).
//
// Month and day may have one or two digits, and so may hour, minute and
// second outside the basic form; a year has four digits (up to nine in
// ISO 8601 extended, as in 10000-01-01T00:00:00Z), or two in RFC 2822 and
// RFC 850 (69-99 are 19xx, 00-68 are 20xx). Month and weekday names are
// English, abbreviated to three letters or more, in any case; the weekday
// is not checked against the date, as the reference does not check it.
//
// Zone names are those with a fixed offset in Ruby's Time.zone_offset: Z,
// UT, UTC, GMT, EST, EDT, CST, CDT, MST, MDT, PST and PDT. A value without
// a zone is read as UTC, as the reference reads it on a host that runs in
// UTC. Other zone names (CEST, military letters other than Z, GMT+2) are
// refused: Ruby ignores the ones it does not know and reads the local
// time of the host, so their value depends on the host's time zone. Numeric
// offsets must be under 24 hours, with minutes 00-59.
//
// Decisions:
//
//   - No roll-over: an impossible date (2021-02-30, 2021-04-31) is no
//     value, where Ruby rolls it over into the next month. Two values that
//     ISO 8601 and RFC 3339 define are read as the reference reads them:
//     24:00:00 is midnight at the end of the day (not with a zone of a
//     fractional hour, on some of which Ruby fails), and second 60 (a leap
//     second) is the first second of the next minute.
//   - Separators at the ends are ignored: Date._parse turns every run of
//     characters other than letters, marks, decimal digits and -+',./:@[]
//     into a space, so leading or trailing spaces, invisible formatting
//     characters (U+200F, U+FEFF), symbols or "<>&" do not change its
//     value. Inside a value they are refused.
//   - Trailing text is refused, except after the zone designator Z of the
//     ISO 8601 extended form with a time. Ruby ignores what follows Z: it
//     reads 2023-04-05T06:07:09Z2023-04-05T06:07:09Z as 06:07:09 UTC, and
//     2023-04-05T06:07:13ZA ("ZA" an unknown zone) as the host's time. So
//     does ParseTime, unless that text contains an English month
//     abbreviation or "bc", in any case: from those Date._parse may take a
//     month, a day or an era and change the date.
//   - A resulting year before 0 is refused, and so is anything Ruby reads
//     beyond the forms listed (two-digit years in numeric dates, US-style
//     dates, a date or time taken from the current time, relative words).
func ParseTime(s string) (t time.Time, ok bool) {
	if len(s) == len(TimeLayout) && s[19] == 'Z' {
		if t, ok = parseCanonicalTime(s); ok {
			return t, true
		}
	}
	return parseTimeLenient(s)
}

// digits2 returns the value of the two ASCII digits at s[i:i+2], or -1.
func digits2(s string, i int) int {
	a, b := s[i]-'0', s[i+1]-'0'
	if a > 9 || b > 9 {
		return -1
	}
	return int(a)*10 + int(b)
}

// parseCanonicalTime reads the canonical form (s has its length and ends
// in "Z"). It leaves to parseTimeLenient what it does not take as an
// ordinary time: 24:00:00, second 60 and any error.
func parseCanonicalTime(s string) (time.Time, bool) {
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	yh, yl := digits2(s, 0), digits2(s, 2)
	mo, d := digits2(s, 5), digits2(s, 8)
	h, mi, sec := digits2(s, 11), digits2(s, 14), digits2(s, 17)
	if yh < 0 || yl < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 ||
		mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	y := yh*100 + yl
	if d > daysInMonth(y, mo) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC), true
}

func daysInMonth(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// timeFields are the fields of a timestamp as written, with off the
// offset of its zone in seconds east of UTC.
type timeFields struct {
	year, month, day int
	hour, min, sec   int
	off              int
}

// time validates f and returns the instant it names, in UTC.
func (f *timeFields) time() (time.Time, bool) {
	if f.month < 1 || f.month > 12 || f.day < 1 || f.day > daysInMonth(f.year, f.month) ||
		f.hour > 24 || f.min > 59 || f.sec > 60 ||
		(f.hour == 24 && (f.min != 0 || f.sec != 0 || f.off%3600 != 0)) {
		return time.Time{}, false
	}
	// time.Date carries 24:00:00 and second 60 into the next day or
	// minute, as the reference does. The reference fails on 24:00:00 with
	// some zones of a fractional hour (+23:30, -00:30), so 24:00:00 takes
	// only zones of whole hours. The year must be one that FormatTime
	// writes in a form ParseTime reads back.
	t := time.Date(f.year, time.Month(f.month), f.day, f.hour, f.min, f.sec, 0, time.UTC)
	t = t.Add(-time.Duration(f.off) * time.Second)
	if y := t.Year(); y < 0 || y > 999999999 {
		return time.Time{}, false
	}
	return t, true
}

// parseTimeLenient reads every form; ParseTime calls it for what its fast
// path does not take.
func parseTimeLenient(s string) (time.Time, bool) {
	s = trimTimeSeparators(s)
	if s == "" || len(s) > maxTimeLen {
		return time.Time{}, false
	}
	p := timeScanner{s: s}
	var f timeFields
	var ok bool
	if isASCIIDigit(s[0]) {
		ok = f.parseNumeric(&p)
	} else {
		ok = f.parseWords(&p)
	}
	if !ok {
		return time.Time{}, false
	}
	return f.time()
}

// trimTimeSeparators removes from both ends of s the characters that
// Ruby's Date._parse reads as separators.
func trimTimeSeparators(s string) string {
	for s != "" {
		r, n := utf8.DecodeRuneInString(s)
		if !isTimeSeparator(r, n) {
			break
		}
		s = s[n:]
	}
	for s != "" {
		r, n := utf8.DecodeLastRuneInString(s)
		if !isTimeSeparator(r, n) {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}

// isTimeSeparator reports whether Date._parse replaces r by a space: it
// keeps letters, marks, decimal digits (its [[:alnum:]]) and -+',./:@[].
// An invalid UTF-8 byte (size 1) is kept, so that it makes s no timestamp.
func isTimeSeparator(r rune, size int) bool {
	if r < utf8.RuneSelf {
		c := byte(r)
		return !isASCIIDigit(c) && !isASCIILetter(c) && strings.IndexByte("-+',./:@[]", c) < 0
	}
	if r == utf8.RuneError && size == 1 {
		return false
	}
	return !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.Is(unicode.Nd, r)
}

func isASCIIDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// timeScanner is a cursor over a trimmed timestamp.
type timeScanner struct {
	s string
	i int
}

func (p *timeScanner) done() bool { return p.i >= len(p.s) }

func (p *timeScanner) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// skip consumes c if it is next.
func (p *timeScanner) skip(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

// spaces consumes a run of spaces and returns its length.
func (p *timeScanner) spaces() int {
	j := p.i
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
	return p.i - j
}

// number consumes a run of min to max ASCII digits; a shorter or longer
// run is an error.
func (p *timeScanner) number(min, max int) (int, bool) {
	n, j := 0, p.i
	for ; j < len(p.s) && isASCIIDigit(p.s[j]); j++ {
		if j-p.i == max {
			return 0, false
		}
		n = n*10 + int(p.s[j]-'0')
	}
	if j-p.i < min {
		return 0, false
	}
	p.i = j
	return n, true
}

// fixed2 consumes two ASCII digits and returns their value, or -1.
func (p *timeScanner) fixed2() int {
	if len(p.s)-p.i < 2 {
		return -1
	}
	v := digits2(p.s, p.i)
	if v >= 0 {
		p.i += 2
	}
	return v
}

// word consumes a run of ASCII letters.
func (p *timeScanner) word() string {
	j := p.i
	for p.i < len(p.s) && isASCIILetter(p.s[p.i]) {
		p.i++
	}
	return p.s[j:p.i]
}

// fraction consumes a fraction of a second ("." or "," and digits, which
// may be none, as the reference allows); it is dropped.
func (p *timeScanner) fraction() {
	if c := p.peek(); c == '.' || c == ',' {
		p.i++
		for p.i < len(p.s) && isASCIIDigit(p.s[p.i]) {
			p.i++
		}
	}
}

// parseNumeric reads the forms that start with a digit.
func (f *timeFields) parseNumeric(p *timeScanner) bool {
	start := p.i
	n, ok := p.number(1, 9)
	if !ok {
		return false
	}
	digits := p.i - start
	switch c := p.peek(); {
	case c == '-' && digits >= 4: // ISO 8601 extended
		p.i++
		f.year = n
		if f.month, ok = p.number(1, 2); !ok || !p.skip('-') {
			return false
		}
		if f.day, ok = p.number(1, 2); !ok {
			return false
		}
		return f.parseTimeOfDay(p, true)
	case c == '/' && digits == 4: // YYYY/MM/DD
		p.i++
		f.year = n
		if f.month, ok = p.number(1, 2); !ok || !p.skip('/') {
			return false
		}
		if f.day, ok = p.number(1, 2); !ok {
			return false
		}
		return f.parseTimeOfDay(p, false)
	case c == '.' && digits <= 2: // DD.MM.YYYY
		p.i++
		f.day = n
		if f.month, ok = p.number(1, 2); !ok || !p.skip('.') {
			return false
		}
		if f.year, ok = p.number(4, 4); !ok {
			return false
		}
		return f.parseTimeOfDay(p, false)
	case (c == 'T' || c == 't') && digits == 8: // ISO 8601 basic
		p.i++
		f.year, f.month, f.day = n/10000, n/100%100, n%100
		hms, ok := p.number(6, 6)
		if !ok {
			return false
		}
		f.hour, f.min, f.sec = hms/10000, hms/100%100, hms%100
		p.fraction()
		switch p.peek() {
		case 0:
			return true
		case 'Z', 'z':
			p.i++
			return p.done()
		case '+', '-':
			// Only ±hh and ±hhmm: the reference reads ±hh:mm here as ±hh.
			sign := 1
			if p.s[p.i] == '-' {
				sign = -1
			}
			p.i++
			start := p.i
			v, ok := p.number(2, 4)
			if !ok || !p.done() {
				return false
			}
			switch p.i - start {
			case 2:
				return f.setOffset(sign, v, 0)
			case 4:
				return f.setOffset(sign, v/100, v%100)
			}
		}
		return false
	case (c == ' ' || c == '-') && digits <= 2: // RFC 2822 or 850 without weekday
		p.i = start
		return f.parseDayMonthYear(p)
	}
	return false
}

// parseTimeOfDay reads what may follow a numeric date: nothing (midnight
// UTC), or "T", "t" or spaces, a clock and a zone. junkAfterZ allows text
// after the designator Z (see ParseTime).
func (f *timeFields) parseTimeOfDay(p *timeScanner, junkAfterZ bool) bool {
	if p.done() {
		return true
	}
	if c := p.peek(); c == 'T' || c == 't' {
		p.i++
	} else if p.spaces() == 0 {
		return false
	}
	if !f.parseClock(p) {
		return false
	}
	p.spaces()
	if p.done() {
		return true
	}
	if c := p.peek(); junkAfterZ && (c == 'Z' || c == 'z') {
		return timeJunkHarmless(p.s[p.i+1:])
	}
	return f.parseZone(p) && p.done()
}

// parseClock reads hh:mm, hh:mm:ss or hh:mm:ss and a fraction.
func (f *timeFields) parseClock(p *timeScanner) bool {
	var ok bool
	if f.hour, ok = p.number(1, 2); !ok || !p.skip(':') {
		return false
	}
	if f.min, ok = p.number(1, 2); !ok {
		return false
	}
	if p.skip(':') {
		if f.sec, ok = p.number(1, 2); !ok {
			return false
		}
		p.fraction()
	}
	return true
}

// fixedZones are the zone names with a fixed offset (hours east of UTC)
// in Ruby's Time.zone_offset, less its military letters other than Z.
var fixedZones = map[string]int{
	"Z": 0, "UT": 0, "UTC": 0, "GMT": 0,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
	"MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}

// parseZone reads a zone: ±hh:mm, ±hhmm, ±hh or a name of fixedZones.
func (f *timeFields) parseZone(p *timeScanner) bool {
	switch c := p.peek(); {
	case c == '+' || c == '-':
		sign := 1
		if c == '-' {
			sign = -1
		}
		p.i++
		h := p.fixed2()
		if h < 0 {
			return false
		}
		m := 0
		if p.skip(':') || (p.i < len(p.s) && isASCIIDigit(p.s[p.i])) {
			if m = p.fixed2(); m < 0 || (p.i < len(p.s) && isASCIIDigit(p.s[p.i])) {
				return false
			}
		}
		return f.setOffset(sign, h, m)
	case isASCIILetter(c):
		w := p.word()
		if len(w) > 3 {
			return false
		}
		var buf [3]byte
		for i := 0; i < len(w); i++ {
			buf[i] = w[i] &^ 0x20
		}
		h, ok := fixedZones[string(buf[:len(w)])]
		f.off = h * 3600
		return ok
	}
	return false
}

func (f *timeFields) setOffset(sign, h, m int) bool {
	if h > 23 || m > 59 {
		return false
	}
	f.off = sign * (h*3600 + m*60)
	return true
}

// timeJunkHarmless reports whether s, the text after the designator Z,
// leaves the reference's reading unchanged. Date._parse reads the time
// and the ISO date from their first occurrence and the zone from the word
// that starts with Z (an unknown word, such as "ZA", means the host's time,
// UTC as everywhere here), but before the ISO date it looks for a day and
// an English month name anywhere, and after it for an era ("bc"). So s is
// harmful if it holds a month abbreviation or "bc" in any case, counting
// the two non-ASCII letters that Ruby's case-insensitive match reads as
// ASCII ones (U+017F long s, U+212A Kelvin sign).
func timeJunkHarmless(s string) bool {
	var buf [maxTimeLen]byte
	b := buf[:0]
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			switch r {
			case '\u017f': // long s, which Ruby's case-insensitive match reads as s
				b = append(b, 's')
			case '\u212a': // Kelvin sign, read as k
				b = append(b, 'k')
			default:
				b = append(b, ' ')
			}
			i += n
			continue
		}
		if isASCIILetter(c) {
			c |= 0x20
		}
		b = append(b, c)
		i++
	}
	l := string(b)
	for _, w := range [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "bc", "b.c"} {
		if strings.Contains(l, w) {
			return false
		}
	}
	return true
}

var monthNames = [...]string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

var weekdayNames = [...]string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// lookupName returns the index of w among names, w being the first three
// or more letters of a name (Sep, Sept, September), in any case; -1 if it
// is none.
func lookupName(w string, names []string) int {
	if len(w) < 3 {
		return -1
	}
	for i, n := range names {
		if len(w) <= len(n) && strings.EqualFold(w, n[:len(w)]) {
			return i
		}
	}
	return -1
}

// parseWords reads the forms that start with a weekday or a month name:
// RFC 2822 and 850 (with a weekday) and asctime.
func (f *timeFields) parseWords(p *timeScanner) bool {
	w := p.word()
	if lookupName(w, weekdayNames[:]) >= 0 {
		p.skip(',')
		if p.spaces() == 0 {
			return false
		}
		if isASCIIDigit(p.peek()) {
			return f.parseDayMonthYear(p)
		}
		w = p.word()
	}
	// asctime: Mon _2 15:04:05 [zone] 2006
	m := lookupName(w, monthNames[:])
	if m < 0 || p.spaces() == 0 {
		return false
	}
	f.month = m + 1
	var ok bool
	if f.day, ok = p.number(1, 2); !ok || p.spaces() == 0 || !f.parseClock(p) || p.spaces() == 0 {
		return false
	}
	if !isASCIIDigit(p.peek()) {
		if !f.parseZone(p) || p.spaces() == 0 {
			return false
		}
	}
	if f.year, ok = p.number(4, 4); !ok {
		return false
	}
	return p.done()
}

// parseDayMonthYear reads the rest of RFC 2822 (02 Jan 2006 15:04:05
// zone) or RFC 850 (02-Jan-06 15:04:05 zone); the zone may be missing.
func (f *timeFields) parseDayMonthYear(p *timeScanner) bool {
	var ok bool
	if f.day, ok = p.number(1, 2); !ok {
		return false
	}
	dash := p.skip('-')
	if !dash && p.spaces() == 0 {
		return false
	}
	m := lookupName(p.word(), monthNames[:])
	if m < 0 {
		return false
	}
	f.month = m + 1
	if dash {
		if !p.skip('-') {
			return false
		}
	} else if p.spaces() == 0 {
		return false
	}
	start := p.i
	if f.year, ok = p.number(2, 4); !ok {
		return false
	}
	switch p.i - start {
	case 2:
		if f.year >= 69 {
			f.year += 1900
		} else {
			f.year += 2000
		}
	case 3:
		return false
	}
	if p.spaces() == 0 || !f.parseClock(p) {
		return false
	}
	p.spaces()
	if p.done() {
		return true
	}
	return f.parseZone(p) && p.done()
}

// parseBool follows the reference: true t yes y 1 and false f no n 0, case
// insensitive; anything else is "no value".
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "true", "t", "yes", "y", "1":
		return true, true
	case "false", "f", "no", "n", "0":
		return false, true
	}
	return false, false
}

func formatBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// parseInt accepts only ASCII digits, as the reference does.
func parseInt(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return n, true
}

// isXMLChar reports whether r is allowed by the XML 1.0 Char production.
func isXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		(r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}

// Sanitize replaces every character that XML cannot carry (outside the XML
// 1.0 Char production) and every invalid UTF-8 sequence with U+FFFD, as the
// reference does before serializing or signing a string.
func Sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !isXMLChar(r) {
			clean = false
			break
		}
		i += size
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !isXMLChar(r) {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// escapeText writes s as XML character data the way the reference does:
// & < > escaped, CR as &#13; (so that it survives line-end normalization)
// and every non-ASCII character as a hexadecimal character reference, so
// that the output is plain ASCII. s must already be sanitized.
func escapeText(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#13;")
		case r < 0x80:
			b.WriteByte(byte(r))
		default:
			b.WriteString("&#x")
			var buf [8]byte
			i := len(buf)
			for v := uint32(r); v > 0; v >>= 4 {
				i--
				buf[i] = hex[v&0xF]
			}
			b.Write(buf[i:])
			b.WriteByte(';')
		}
	}
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }
