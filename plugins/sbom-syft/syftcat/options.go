package syftcat

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Option keys (see schema.json).
const (
	optionFiles      = "files"
	optionCatalogers = "catalogers"
	optionMaxBytes   = "max-bytes"
)

// DefaultMaxBytes bounds the archive members read and unpacked when the
// max-bytes option is not given: 4 GiB.
const DefaultMaxBytes int64 = 4 << 30

// options are a request's options, parsed.
type options struct {
	files bool
	// catalogers is syft's selection expression; none turns package
	// cataloguing off (and with it the unpacking of archives).
	catalogers string
	none       bool
	maxBytes   int64
}

func parseOptions(m map[string]string) (options, error) {
	o := options{files: true, maxBytes: DefaultMaxBytes}
	var unknown []string
	for k := range m {
		switch k {
		case optionFiles, optionCatalogers, optionMaxBytes:
		default:
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return o, fmt.Errorf("unknown option %s (known: %s, %s, %s)", strings.Join(unknown, ", "), optionFiles, optionCatalogers, optionMaxBytes)
	}
	if v, ok := m[optionFiles]; ok {
		switch v {
		case "true":
		case "false":
			o.files = false
		default:
			return o, fmt.Errorf("option %s: %q is neither true nor false", optionFiles, v)
		}
	}
	if v, ok := m[optionCatalogers]; ok {
		switch v = strings.TrimSpace(v); v {
		case "none":
			o.none = true
		case "":
		default:
			for _, e := range strings.Split(v, ",") {
				e = strings.TrimSpace(e)
				if len(e) > 0 && (e[0] == '+' || e[0] == '-') {
					e = strings.TrimSpace(e[1:])
				}
				if e == "" {
					return o, fmt.Errorf("option %s: %q has an empty entry", optionCatalogers, v)
				}
			}
			o.catalogers = v
		}
	}
	if v, ok := m[optionMaxBytes]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return o, fmt.Errorf("option %s: %q is not a positive whole number of bytes", optionMaxBytes, v)
		}
		o.maxBytes = n
	}
	return o, nil
}
