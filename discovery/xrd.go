package discovery

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// XRDNamespace is the XML namespace of XRD 1.0 documents.
const XRDNamespace = "http://docs.oasis-open.org/ns/xri/xrd-1.0"

// XML budgets (LIMITS.md R2).
const (
	maxXMLDepth    = 32
	maxXMLElements = 5000
)

// xnode is a minimal XML element tree.
type xnode struct {
	name     xml.Name
	attrs    []xml.Attr
	children []*xnode
	text     []string // character data, interleaved with children in order
}

// content returns the text of n and its descendants, like Nokogiri's
// #content.
func (n *xnode) content() string {
	var b strings.Builder
	var walk func(*xnode)
	walk = func(n *xnode) {
		for _, t := range n.text {
			b.WriteString(t)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func (n *xnode) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// parseXML reads one XML document into a tree. DOCTYPE and other
// directives, a second root element, non-space text outside the root and
// documents over the depth or element budget are refused.
func parseXML(data []byte) (*xnode, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var root *xnode
	var stack []*xnode
	count := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidDocument, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, ErrDoctype
		case xml.StartElement:
			count++
			if count > maxXMLElements || len(stack) >= maxXMLDepth {
				return nil, fmt.Errorf("%w: XML too large or too deep", ErrInvalidDocument)
			}
			n := &xnode{name: t.Name, attrs: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: more than one root element", ErrInvalidDocument)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, fmt.Errorf("%w: text outside the root element", ErrInvalidDocument)
				}
				continue
			}
			p := stack[len(stack)-1]
			p.text = append(p.text, string(t))
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no XML root element", ErrInvalidDocument)
	}
	return root, nil
}

// xrdData is what the reference's XrdDocument.xml_data extracts.
type xrdData struct {
	subject    string
	hasSubject bool
	expires    string
	aliases    []string
	properties []Property
	links      []Link
}

// parseXRDData parses an XRD document: the root element must be named XRD
// (else "not an XRD document"); Subject, Expires, Alias, Property and Link
// are read only as children of an XRD root in the XRD namespace, as the
// reference's XPath does.
func parseXRDData(data []byte) (*xrdData, error) {
	root, err := parseXML(data)
	if err != nil {
		return nil, err
	}
	if root.name.Local != "XRD" {
		return nil, fmt.Errorf("%w: not an XRD document", ErrInvalidDocument)
	}
	d := &xrdData{}
	if root.name.Space != XRDNamespace {
		return d, nil
	}
	for _, c := range root.children {
		if c.name.Space != XRDNamespace {
			continue
		}
		switch c.name.Local {
		case "Subject":
			if !d.hasSubject {
				d.subject, d.hasSubject = c.content(), true
			}
		case "Expires":
			if d.expires == "" {
				d.expires = c.content()
			}
		case "Alias":
			a := strings.TrimSpace(c.content())
			if len(a) >= 2 && a[0] == '"' && a[len(a)-1] == '"' {
				a = a[1 : len(a)-1]
			}
			d.aliases = append(d.aliases, a)
		case "Property":
			p := Property{}
			p.Type, _ = c.attr("type")
			if !isXSINil(c) {
				v := c.content()
				p.Value = &v
			}
			d.properties = append(d.properties, p)
		case "Link":
			var l Link
			l.Rel, _ = c.attr("rel")
			l.Type, _ = c.attr("type")
			l.Href, _ = c.attr("href")
			l.Template, _ = c.attr("template")
			d.links = append(d.links, l)
		}
	}
	return d, nil
}

func isXSINil(n *xnode) bool {
	for _, a := range n.attrs {
		if a.Name.Local == "nil" && a.Name.Space == "http://www.w3.org/2001/XMLSchema-instance" {
			return a.Value == "true"
		}
	}
	return false
}

// ParseXRD parses and validates a legacy WebFinger XRD document (XRD 1.0,
// found through host-meta's lrdd template, RFC 6415). Errors wrap
// [ErrInvalidDocument] (not XML, root not XRD, no Subject or no Link in
// the XRD namespace) or are a [*ValidationError].
func ParseXRD(data []byte) (*WebFinger, error) {
	d, err := parseXRDData(data)
	if err != nil {
		return nil, err
	}
	if !d.hasSubject || len(d.links) == 0 {
		return nil, fmt.Errorf("%w: WebFinger XML needs Subject and Link", ErrIncompleteDocument)
	}
	w := &WebFinger{Subject: d.subject, Aliases: d.aliases, Properties: d.properties, Links: d.links, Expires: d.expires}
	if err := w.Validate(); err != nil {
		return nil, err
	}
	return w, nil
}

// XRD encodes w as a legacy XRD document in the layout the reference
// generated: XML declaration, XRD root in the XRD namespace, then Subject,
// Expires, Alias, Property and Link elements, indented by two spaces.
func (w *WebFinger) XRD() []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header[:len(xml.Header)-1] + "\n")
	b.WriteString(`<XRD xmlns="` + XRDNamespace + `">` + "\n")
	if w.Subject != "" {
		b.WriteString("  <Subject>" + escText(w.Subject) + "</Subject>\n")
	}
	if w.Expires != "" {
		b.WriteString("  <Expires>" + escText(w.Expires) + "</Expires>\n")
	}
	for _, a := range w.Aliases {
		b.WriteString("  <Alias>" + escText(a) + "</Alias>\n")
	}
	for _, p := range w.Properties {
		if p.Value == nil {
			b.WriteString(`  <Property type="` + escAttr(p.Type) + `" xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>` + "\n")
			continue
		}
		b.WriteString(`  <Property type="` + escAttr(p.Type) + `">` + escText(*p.Value) + "</Property>\n")
	}
	writeXRDLinks(&b, w.Links)
	b.WriteString("</XRD>\n")
	return b.Bytes()
}

func writeXRDLinks(b *bytes.Buffer, links []Link) {
	for _, l := range links {
		b.WriteString("  <Link")
		for _, a := range [][2]string{{"rel", l.Rel}, {"type", l.Type}, {"href", l.Href}, {"template", l.Template}} {
			if a[1] != "" {
				b.WriteString(" " + a[0] + `="` + escAttr(a[1]) + `"`)
			}
		}
		b.WriteString("/>\n")
	}
}

// HostMeta is a host-meta document (RFC 6415), used by legacy discovery to
// find the XRD WebFinger template.
type HostMeta struct {
	// Links are the document's links in order.
	Links []Link
}

// NewHostMeta returns the host-meta a pod with the given base URL serves:
// one lrdd link whose template is
// ⟨base⟩/.well-known/webfinger.xml?resource={uri}.
func NewHostMeta(baseURL string) *HostMeta {
	base := strings.TrimSuffix(baseURL, "/")
	return &HostMeta{Links: []Link{{
		Rel: RelLRDD, Type: "application/xrd+xml",
		Template: base + "/.well-known/webfinger.xml?resource={uri}",
	}}}
}

// WebFingerTemplate returns the template of the first lrdd link.
func (h *HostMeta) WebFingerTemplate() string {
	for _, l := range h.Links {
		if l.Rel == RelLRDD {
			return l.Template
		}
	}
	return ""
}

// templatePattern is the reference's check of the lrdd template; Ruby's ^
// matches at every line start, hence the (?m).
var templatePattern = regexp.MustCompile(`(?im)^https?://.*/.*\{uri\}`)

// Validate checks that the first lrdd link has a template that the
// reference accepts (an http(s) URL with a path containing "{uri}"). The
// error wraps [ErrIncompleteDocument].
func (h *HostMeta) Validate() error {
	if t := h.WebFingerTemplate(); !templatePattern.MatchString(t) {
		return fmt.Errorf("%w: invalid webfinger url: %q", ErrIncompleteDocument, truncate(t, 120))
	}
	return nil
}

// View returns the neutral view: type "host_meta" with
// webfinger_template_url.
func (h *HostMeta) View() *View {
	return &View{Type: "host_meta", Properties: map[string]any{
		"webfinger_template_url": nullable(h.WebFingerTemplate()),
	}}
}

// ParseHostMeta parses and validates a host-meta document in XRD form.
// Errors wrap [ErrInvalidDocument].
func ParseHostMeta(data []byte) (*HostMeta, error) {
	d, err := parseXRDData(data)
	if err != nil {
		return nil, err
	}
	if len(d.links) == 0 {
		return nil, fmt.Errorf("%w: host-meta has no links", ErrIncompleteDocument)
	}
	h := &HostMeta{Links: d.links}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// ParseHostMetaJSON parses and validates a host-meta document in its JSON
// form (RFC 6415 appendix A, served at /.well-known/host-meta.json).
// Errors wrap [ErrInvalidDocument].
func ParseHostMetaJSON(data []byte) (*HostMeta, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: not a JSON host-meta: %v", ErrInvalidDocument, err)
	}
	obj, ok := v.(map[string]any)
	if !ok || obj["links"] == nil {
		return nil, fmt.Errorf("%w: host-meta has no links", ErrIncompleteDocument)
	}
	links, err := jsonLinks(obj["links"])
	if err != nil {
		return nil, err
	}
	h := &HostMeta{Links: links}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// XRD encodes the host-meta in XRD form, as the reference served it.
func (h *HostMeta) XRD() []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header[:len(xml.Header)-1] + "\n")
	b.WriteString(`<XRD xmlns="` + XRDNamespace + `">` + "\n")
	writeXRDLinks(&b, h.Links)
	b.WriteString("</XRD>\n")
	return b.Bytes()
}

// JSON encodes the host-meta in its JSON form: {"links": [...]}.
func (h *HostMeta) JSON() []byte { return linksJSON(h.Links) }

// linksJSON encodes {"links": links} compactly, without HTML escaping.
func linksJSON(links []Link) []byte {
	if links == nil {
		links = []Link{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Links []Link `json:"links"`
	}{links})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func escText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "&#xA;", "\n")
}

func escAttr(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// decodeLenientBase64 decodes standard base64, ignoring white space and
// missing padding.
func decodeLenientBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	s = strings.TrimRight(s, "=")
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("invalid base64")
	}
	return b, nil
}
