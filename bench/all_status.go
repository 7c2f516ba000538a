package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// statusLine is the live summary `bench all` keeps on stderr: scenario
// i/n, its elapsed time and the whole run's, and the last figure seen.
// On a terminal one line is rewritten in place each second; elsewhere (a
// log file, a test buffer) a line is printed per change, never per tick.
type statusLine struct {
	w        io.Writer
	tty      bool
	n        int
	runStart time.Time

	mu      sync.Mutex // protects the fields below and writes to w
	i       int
	name    string
	started time.Time
	last    string

	stop chan struct{}
	done sync.WaitGroup
}

const statusWidth = 150

func newStatusLine(w io.Writer, n int) *statusLine {
	s := &statusLine{w: w, n: n, runStart: time.Now(), stop: make(chan struct{})}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			s.tty = true
		}
	}
	if s.tty {
		s.done.Add(1)
		go s.tick()
	}
	return s
}

// tick redraws the line each second so the clocks move; close stops it.
func (s *statusLine) tick() {
	defer s.done.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			s.drawLocked()
			s.mu.Unlock()
		}
	}
}

func (s *statusLine) begin(i int, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.i, s.name, s.started, s.last = i, name, time.Now(), "starting"
	s.drawLocked()
}

// end shows the scenario's outcome; off a terminal it is its own line.
func (s *statusLine) end(headline string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = headline
	s.drawLocked()
	if s.tty && s.w != nil {
		fmt.Fprintln(s.w) // keep the finished scenario's line on screen
	}
}

// scenarioWriter takes a scenario's progress lines: each becomes the
// status line's "last" (and, verbose, is copied out in full).
func (s *statusLine) scenarioWriter(verbose bool) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
			if t := strings.Join(strings.Fields(string(line)), " "); t != "" {
				s.last = t
			}
		}
		if verbose && s.w != nil {
			if s.tty {
				fmt.Fprint(s.w, "\r\x1b[K")
			}
			s.w.Write(p)
		}
		s.drawLocked()
		return len(p), nil
	})
}

func (s *statusLine) drawLocked() {
	if s.w == nil || s.name == "" {
		return
	}
	line := fmt.Sprintf("bench all [%d/%d] %s %s (run %s) | %s", s.i+1, s.n, s.name,
		clock(time.Since(s.started)), clock(time.Since(s.runStart)), s.last)
	if len(line) > statusWidth {
		line = line[:statusWidth-3] + "..."
	}
	if s.tty {
		fmt.Fprint(s.w, "\r\x1b[K"+line)
	} else {
		fmt.Fprintln(s.w, line)
	}
}

func (s *statusLine) close() {
	close(s.stop)
	s.done.Wait()
}

// clock prints d as m:ss.
func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
