package discovery

import "fmt"

// Vector kinds that [ParseKind] reads, as the test-vector manifests name
// them.
const (
	KindWebFingerJRD = "webfinger_jrd"
	KindWebFingerXRD = "webfinger_xrd"
	KindHostMeta     = "host_meta"
	KindHCardHTML    = "hcard_html"
)

// View is the neutral {"type", "properties"} form of a discovery document,
// exactly as the vector manifests write expected.entity: absent or empty
// values are nil, searchable is a bool, everything else a string.
type View struct {
	// Type is the document type: web_finger, host_meta or h_card.
	Type string `json:"type"`
	// Properties are the document's values by property name.
	Properties map[string]any `json:"properties"`
}

// Kinds lists the vector kinds [ParseKind] accepts.
func Kinds() []string {
	return []string{KindWebFingerJRD, KindWebFingerXRD, KindHostMeta, KindHCardHTML}
}

// ParseKind parses and validates data as a document of the given vector
// kind (webfinger_jrd, webfinger_xrd, host_meta or hcard_html) and returns
// its neutral view. Use [Category] on the error for the manifest's
// error_category. An unknown kind is an error whose category is "other".
func ParseKind(kind string, data []byte) (*View, error) {
	switch kind {
	case KindWebFingerJRD:
		w, err := ParseJRD(data)
		if err != nil {
			return nil, err
		}
		return w.View(), nil
	case KindWebFingerXRD:
		w, err := ParseXRD(data)
		if err != nil {
			return nil, err
		}
		return w.View(), nil
	case KindHostMeta:
		h, err := ParseHostMeta(data)
		if err != nil {
			return nil, err
		}
		return h.View(), nil
	case KindHCardHTML:
		h, err := ParseHCard(data)
		if err != nil {
			return nil, err
		}
		return h.View(), nil
	}
	return nil, fmt.Errorf("discovery: unknown document kind %q", kind)
}
