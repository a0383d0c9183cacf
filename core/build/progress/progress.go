// Package progress reports long transfers: a live status line on a
// terminal, JSON events for machines, nothing otherwise.
package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Event is one progress report, as emitted in JSON mode.
type Event struct {
	Type      string `json:"type"` // "transfer"
	Op        string `json:"op"`   // "get" or "put"
	URL       string `json:"url"`
	DoneBytes int64  `json:"done_bytes"`
	// TotalBytes is -1 when unknown.
	TotalBytes int64 `json:"total_bytes"`
	Done       bool  `json:"done,omitempty"`
}

// Reporter receives the progress of transfers. It is safe for concurrent
// use; each transfer is identified by its op and URL.
type Reporter interface {
	Update(op, url string, done, total int64)
	Finish(op, url string, total int64)
	// Close ends the display (clears the status line).
	Close()
}

// Nop reports nothing.
type Nop struct{}

func (Nop) Update(string, string, int64, int64) {}
func (Nop) Finish(string, string, int64)        {}
func (Nop) Close()                              {}

// JSON writes one Event per line, at most every interval per transfer plus
// the final one.
type JSON struct {
	mu       sync.Mutex
	enc      *json.Encoder
	last     map[string]time.Time
	interval time.Duration
}

// NewJSON returns a Reporter writing JSON lines to w.
func NewJSON(w io.Writer) *JSON {
	return &JSON{enc: json.NewEncoder(w), last: map[string]time.Time{}, interval: 250 * time.Millisecond}
}

func (j *JSON) Update(op, url string, done, total int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	k := op + " " + url
	if now := time.Now(); now.Sub(j.last[k]) >= j.interval {
		j.last[k] = now
		_ = j.enc.Encode(Event{Type: "transfer", Op: op, URL: url, DoneBytes: done, TotalBytes: total})
	}
}

func (j *JSON) Finish(op, url string, total int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.last, op+" "+url)
	_ = j.enc.Encode(Event{Type: "transfer", Op: op, URL: url, DoneBytes: total, TotalBytes: total, Done: true})
}

func (j *JSON) Close() {}

// Terminal redraws one status line summing every running transfer.
type Terminal struct {
	mu       sync.Mutex
	w        io.Writer
	active   map[string]*state
	started  time.Time
	lastDraw time.Time
	width    int
	drawn    bool
}

type state struct{ done, total int64 }

// NewTerminal returns a Reporter drawing on w, a terminal.
func NewTerminal(w io.Writer) *Terminal {
	return &Terminal{w: w, active: map[string]*state{}, started: time.Now(), width: 100}
}

func (t *Terminal) Update(op, url string, done, total int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active[op+" "+url] = &state{done, total}
	if time.Since(t.lastDraw) >= 100*time.Millisecond {
		t.draw()
	}
}

func (t *Terminal) Finish(op, url string, _ int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.active, op+" "+url)
	if len(t.active) == 0 {
		t.clear()
		return
	}
	t.draw()
}

func (t *Terminal) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clear()
}

func (t *Terminal) clear() {
	if t.drawn {
		fmt.Fprintf(t.w, "\r%s\r", strings.Repeat(" ", t.width))
		t.drawn = false
	}
}

func (t *Terminal) draw() {
	t.lastDraw = time.Now()
	var done, total int64
	known := true
	keys := make([]string, 0, len(t.active))
	for k, s := range t.active {
		keys = append(keys, k)
		done += s.done
		if s.total < 0 {
			known = false
		} else {
			total += s.total
		}
	}
	sort.Strings(keys)
	line := fmt.Sprintf("%d transfer(s) %s", len(keys), Bytes(done))
	if known && total > 0 {
		line += fmt.Sprintf(" / %s (%d%%)", Bytes(total), done*100/total)
	}
	if el := time.Since(t.started).Seconds(); el > 0.5 {
		line += fmt.Sprintf(" %s/s", Bytes(int64(float64(done)/el)))
	}
	if len(line) > t.width {
		line = line[:t.width]
	}
	fmt.Fprintf(t.w, "\r%-*s", t.width, line)
	t.drawn = true
}

// Bytes formats n in binary units.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
