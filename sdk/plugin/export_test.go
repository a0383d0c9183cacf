package plugin

// The tests that cross the wire are package plugin_test: they reach it
// through sdktest, which imports this package. What they check of the
// unexported side is exported to them here.

// MaxChunk is the size of the output chunks a handler's stream is cut in.
const MaxChunk = maxChunk

// ServeArgs is serve: the binary run with argv, printing on stdout.
var ServeArgs = serve

// CheckOptions is the error Serve gives for opts, if any.
func CheckOptions(opts []Option) error {
	_, err := newOptions(opts)
	return err
}

// CheckBundle is the error ServeBundle gives for members, if any.
func CheckBundle(members ...[]Option) error {
	_, err := newBundle(members...)
	return err
}
