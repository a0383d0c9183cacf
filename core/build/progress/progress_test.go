package progress

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONEvents(t *testing.T) {
	var buf bytes.Buffer
	j := NewJSON(&buf)
	j.interval = 0
	j.Update("get", "s3://b/k", 10, 100)
	j.Update("get", "s3://b/k", 50, 100)
	j.Finish("get", "s3://b/k", 100)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines: %s", len(lines), buf.String())
	}
	var last Event
	if err := json.Unmarshal([]byte(lines[2]), &last); err != nil {
		t.Fatal(err)
	}
	if !last.Done || last.DoneBytes != 100 || last.Op != "get" || last.URL != "s3://b/k" {
		t.Fatalf("last event %+v", last)
	}
}

func TestTerminalLine(t *testing.T) {
	var buf bytes.Buffer
	term := NewTerminal(&buf)
	term.Update("get", "a", 512<<10, 1<<20)
	if !strings.Contains(buf.String(), "512.0 KiB / 1.0 MiB (50%)") {
		t.Fatalf("status line: %q", buf.String())
	}
	term.Finish("get", "a", 1<<20)
	if !strings.HasSuffix(buf.String(), "\r") {
		t.Fatalf("line not cleared: %q", buf.String())
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 30: "3.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
