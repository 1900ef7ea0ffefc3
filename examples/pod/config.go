package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// The pod's configuration file (--config FILE, POD_CONFIG) is TOML whose
// keys are the flags' names, one to one, each at the top level:
//
//	addr = "localhost:3000"
//	trust-proxy = ["10.0.0.0/8"]
//	dev = false
//	retry-base = "30s"
//
// A value has its flag's type: a string for a text flag or a duration
// ("30s"), an integer for a number, true or false for a switch, an array
// of strings (or one string) for a list such as --trust-proxy. --admin
// takes true or a name. An unknown key, a table, or a value of the wrong
// type is an error naming the line.
//
// Precedence, highest first: the command line, the environment variable,
// the file, the flag's default. The mapping is generic over the flag set,
// so every flag, also one added later, has its key; the environment
// variable of a flag is the (POD_...) its usage ends with.

// Where a flag's value came from.
const (
	sourceFlag    = "flag"
	sourceEnv     = "env"
	sourceFile    = "file"
	sourceDefault = "default"
)

// configState is the configuration in effect: the flags with their
// values and where each value came from.
type configState struct {
	fs      *flag.FlagSet
	file    string            // the config file, "" for none
	sources map[string]string // flag name → source*
}

// envOfFlag finds the environment variable a flag's usage names.
var envOfFlag = regexp.MustCompile(`\((POD_[A-Z0-9_]+)\)\s*$`)

func flagEnv(f *flag.Flag) string {
	if m := envOfFlag.FindStringSubmatch(f.Usage); m != nil {
		return m[1]
	}
	return ""
}

// loadConfig applies the config file at path (none if "") to the flags
// of fs that neither the command line nor the environment set, after the
// command line has been parsed, and records where every value came from.
// Every error of the file is reported, each with its line.
func loadConfig(fs *flag.FlagSet, path string) (*configState, error) {
	c := &configState{fs: fs, file: path, sources: map[string]string{}}
	fs.Visit(func(f *flag.Flag) { c.sources[f.Name] = sourceFlag })
	fs.VisitAll(func(f *flag.Flag) {
		if _, done := c.sources[f.Name]; done {
			return
		}
		if env := flagEnv(f); env != "" {
			if _, ok := os.LookupEnv(env); ok {
				c.sources[f.Name] = sourceEnv
			}
		}
	})
	if path != "" {
		entries, err := readConfigFile(path)
		if err != nil {
			return nil, err
		}
		var errs []error
		for _, e := range entries {
			if err := c.apply(e); err != nil {
				errs = append(errs, fmt.Errorf("config %s line %d: %w", path, e.line, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if _, done := c.sources[f.Name]; !done {
			c.sources[f.Name] = sourceDefault
		}
	})
	return c, nil
}

// configEntry is one key = value of the file.
type configEntry struct {
	key   string
	line  int
	value any // as go-toml decodes it: string, int64, float64, bool, []any, ...
}

// readConfigFile reads a config file's entries in their order. The values
// come from go-toml's decoder (which also refuses a malformed document or
// a key given twice); the line of each key from its parser.
func readConfigFile(path string) ([]configEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var values map[string]any
	if err := toml.Unmarshal(data, &values); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, _ := de.Position()
			return nil, fmt.Errorf("config %s line %d: %s", path, line, strings.TrimPrefix(de.Error(), "toml: "))
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var entries []configEntry
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.KeyValue && e.Kind != unstable.Table && e.Kind != unstable.ArrayTable {
			continue
		}
		var parts []string
		line := 0
		for it := e.Key(); it.Next(); {
			k := it.Node()
			if line == 0 {
				line = p.Shape(k.Raw).Start.Line
			}
			parts = append(parts, string(k.Data))
		}
		if e.Kind != unstable.KeyValue {
			return nil, fmt.Errorf("config %s line %d: [%s]: the configuration has no tables; write each key = value at the top, before any [section]",
				path, line, strings.Join(parts, "."))
		}
		entry := configEntry{key: strings.Join(parts, "."), line: line}
		if len(parts) == 1 {
			entry.value = values[parts[0]]
		}
		entries = append(entries, entry)
	}
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return entries, nil
}

// flagKind is the type of value a flag takes, for the file's values and
// for config check's output.
type flagKind int

const (
	kindString flagKind = iota
	kindInt
	kindUint
	kindFloat
	kindBool
	kindDuration
	kindList       // a flag.Getter of []string, set once per element
	kindBoolOrName // a boolean flag that also takes a value (--admin)
)

func kindOf(f *flag.Flag) flagKind {
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case bool:
			return kindBool
		case int, int64:
			return kindInt
		case uint, uint64:
			return kindUint
		case float64:
			return kindFloat
		case time.Duration:
			return kindDuration
		case []string:
			return kindList
		}
		return kindString
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return kindBoolOrName
	}
	return kindString
}

// apply sets one entry of the file, unless the command line or the
// environment set its flag; its type is checked either way.
func (c *configState) apply(e configEntry) error {
	f := c.fs.Lookup(e.key)
	if f == nil || f.Name == "config" {
		return fmt.Errorf("unknown key %q: the keys are the flags' names (pod help lists them), at the top level", e.key)
	}
	args, err := flagArgs(f, e.value)
	if err != nil {
		return err
	}
	if src := c.sources[f.Name]; src == sourceFlag || src == sourceEnv {
		return nil
	}
	for _, a := range args {
		if err := c.fs.Set(f.Name, a); err != nil {
			return fmt.Errorf("%s = %s: %w", f.Name, tomlValue(f, a), err)
		}
	}
	c.sources[f.Name] = sourceFile
	return nil
}

// flagArgs turns a TOML value into the arguments of its flag's Set, or
// says which type the key takes.
func flagArgs(f *flag.Flag, v any) ([]string, error) {
	k := kindOf(f)
	wrong := func(want string) error {
		return fmt.Errorf("%s takes %s, not %s", f.Name, want, tomlType(v))
	}
	switch k {
	case kindString:
		if s, ok := v.(string); ok {
			return []string{s}, nil
		}
		return nil, wrong("a string")
	case kindInt, kindUint:
		if n, ok := v.(int64); ok && (k == kindInt || n >= 0) {
			return []string{strconv.FormatInt(n, 10)}, nil
		}
		if k == kindUint {
			return nil, wrong("a whole number of at least 0")
		}
		return nil, wrong("a whole number")
	case kindFloat:
		switch n := v.(type) {
		case float64:
			return []string{strconv.FormatFloat(n, 'g', -1, 64)}, nil
		case int64:
			return []string{strconv.FormatInt(n, 10)}, nil
		}
		return nil, wrong("a number")
	case kindBool:
		if b, ok := v.(bool); ok {
			return []string{strconv.FormatBool(b)}, nil
		}
		return nil, wrong("true or false")
	case kindBoolOrName:
		switch b := v.(type) {
		case bool:
			return []string{strconv.FormatBool(b)}, nil
		case string:
			return []string{b}, nil
		}
		return nil, wrong("true, false or a name")
	case kindDuration:
		s, ok := v.(string)
		if !ok {
			return nil, wrong(`a duration as a string ("30s", "2m")`)
		}
		if _, err := time.ParseDuration(s); err != nil {
			return nil, fmt.Errorf("%s = %q is not a duration (like \"30s\" or \"2m\")", f.Name, s)
		}
		return []string{s}, nil
	case kindList:
		if s, ok := v.(string); ok {
			return []string{s}, nil
		}
		arr, ok := v.([]any)
		if !ok {
			return nil, wrong("an array of strings")
		}
		if len(arr) == 0 {
			return []string{""}, nil // none: replaces the default
		}
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s takes an array of strings, and one element is %s", f.Name, tomlType(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, wrong("a string")
}

// tomlType names the TOML type of a decoded value.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case nil:
		return "nothing"
	}
	return "a date or time"
}

// configCheck is pod config check: the flags, the environment and the
// config file are valid together (run has checked them and the values
// serve checks itself are checked here), and the configuration in effect
// is printed as TOML, one key a line with its source, secrets masked.
func configCheck(_ context.Context, e *cmdEnv, _ []string) error {
	o := e.o
	switch o.role {
	case "all", "web", "worker":
	default:
		return fmt.Errorf("--role is all, web or worker, not %q", o.role)
	}
	switch o.registrations {
	case "", "open", "invite", "closed":
	default:
		return fmt.Errorf("--registrations is open, invite or closed, not %q", o.registrations)
	}
	if o.url != "" {
		if u, err := url.Parse(o.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--url %q is not an http or https URL", o.url)
		}
	}
	if o.db != "" && !strings.HasPrefix(o.db, "postgres://") && !strings.HasPrefix(o.db, "postgresql://") {
		return errors.New("--db takes a postgres:// URL (or nothing, for SQLite in --data)")
	}
	for _, w := range pod.WideTrustedProxies(o.trustProxy.prefixes) {
		fmt.Fprintf(e.stderr, "warning: trust-proxy %s is a wide public range: any client there can choose the address the per-address limits see; list your proxies' own addresses\n", w)
	}
	e.cfg.print(e.stdout)
	return nil
}

// print writes the configuration in effect as TOML a config file could
// hold: each flag (but --config) as name = value, its source as a
// comment, secrets masked.
func (c *configState) print(w io.Writer) {
	fmt.Fprintln(w, "# the pod's configuration in effect; precedence: flag > env > file > default")
	if c.file != "" {
		fmt.Fprintf(w, "# config file: %s\n", c.file)
	} else {
		fmt.Fprintln(w, "# config file: none")
	}
	c.fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		src := c.sources[f.Name]
		if env := flagEnv(f); src == sourceEnv && env != "" {
			src += " " + env
		}
		fmt.Fprintf(w, "%s = %s # %s\n", f.Name, maskedValue(f), src)
	})
}

// maskedValue is a flag's value as TOML, secrets masked: a password
// flag's value, and the password in a URL's user information or query.
func maskedValue(f *flag.Flag) string {
	if isSecretFlag(f.Name) {
		if f.Value.String() == "" {
			return `""`
		}
		return `"********"`
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if l, ok := g.Get().([]string); ok {
			q := make([]string, len(l))
			for i, s := range l {
				q[i] = tomlString(maskURL(s))
			}
			return "[" + strings.Join(q, ", ") + "]"
		}
	}
	return tomlValue(f, maskURL(f.Value.String()))
}

// isSecretFlag tells the flags whose value is a secret.
func isSecretFlag(name string) bool {
	for _, s := range []string{"password", "secret", "token"} {
		if name == s || strings.HasSuffix(name, "-"+s) {
			return true
		}
	}
	return false
}

// maskURL hides the password of a URL (postgres://user:PASSWORD@host/db,
// also ?password=...); anything else is returned as it is.
func maskURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "********" // cannot tell where a password would be
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "********")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "********")
		u.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(u.String(), "%2A", "*")
}

// tomlValue writes the flag value s in f's TOML type.
func tomlValue(f *flag.Flag, s string) string {
	switch kindOf(f) {
	case kindInt, kindUint, kindFloat, kindBool:
		return s
	}
	return tomlString(s)
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
