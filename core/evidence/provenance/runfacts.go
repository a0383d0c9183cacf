package provenance

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/mmbuild/mmbuild/core/evidence/cifacts"
)

// BuilderIDVar is the environment variable a CI sets builder.id with.
const BuilderIDVar = "MMBUILD_BUILDER_ID"

// ChooseBuilderID is the builder id a statement records: the one given
// (--builder-id), else $MMBUILD_BUILDER_ID, else the CI runner's as its
// platform names it; "" leaves DefaultBuilderID.
func ChooseBuilderID(given string, lookupEnv func(string) (string, bool), ci *cifacts.Facts) string {
	if given != "" {
		return given
	}
	if v, _ := lookupEnv(BuilderIDVar); v != "" {
		return v
	}
	return ci.BuilderID()
}

// NewInvocationID is a fresh random id of one run.
func NewInvocationID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
