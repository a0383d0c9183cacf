package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEShowsThisSchema keeps the schema sdk/README.md shows identical
// to the one the example serves.
func TestREADMEShowsThisSchema(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```json\n"+string(schema)+"```\n") {
		t.Error("sdk/README.md does not show schema.json as it is: copy it again")
	}
}
