package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server samples a Source and serves the dashboard page and its API.
// New starts the sampler; Close stops it and the HTTP server Start
// started. Handler may be mounted on any server of the caller's instead
// of Start.
type Server struct {
	src     Source
	opts    Options // with defaults filled in
	handler http.Handler
	now     func() time.Time // stamps snapshots that carry no time

	mu          sync.Mutex // guards the sampled state below
	latest      Snapshot   // shown on the page; refreshed after an action too
	prev        Snapshot   // the last sampled snapshot, which rates start from
	hasPrev     bool
	latestRates *Rates // nil until two samples have been taken
	hist        *ring

	stop      chan struct{} // closed once by Close
	closeOnce sync.Once
	wg        sync.WaitGroup // the sampler and the HTTP serve loop

	lifeMu   sync.Mutex // guards the lifecycle fields below
	httpSrv  *http.Server
	closed   bool
	serveErr error
}

// New returns a Server watching src. It takes the first snapshot before
// it returns and then one every opts.Interval until Close.
func New(src Source, opts Options) (*Server, error) {
	s, err := newServer(src, opts)
	if err != nil {
		return nil, err
	}
	s.sample()
	s.wg.Add(1)
	go s.runSampler()
	return s, nil
}

// newServer builds a Server without starting its sampler, so tests can
// call sample themselves.
func newServer(src Source, opts Options) (*Server, error) {
	if src == nil {
		return nil, ErrNilSource
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	s := &Server{
		src:  src,
		opts: opts,
		now:  time.Now,
		hist: newRing(opts.historySamples()),
		stop: make(chan struct{}),
	}
	s.handler = s.routes()
	return s, nil
}

// Handler serves the page, its assets and the API.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on addr (for example "127.0.0.1:8080", or
// "127.0.0.1:0" for any free port) and serves the Handler until Close.
// It returns the address it listens on.
func (s *Server) Start(addr string) (net.Addr, error) {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	switch {
	case s.closed:
		return nil, ErrClosed
	case s.httpSrv != nil:
		return nil, ErrAlreadyStarted
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard: listen on %q: %w", addr, err)
	}
	s.httpSrv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      s.opts.ActionTimeout + 10*time.Second,
		IdleTimeout:       time.Minute,
	}
	srv := s.httpSrv
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.lifeMu.Lock()
			s.serveErr = fmt.Errorf("dashboard: serve: %w", err)
			s.lifeMu.Unlock()
		}
	}()
	return ln.Addr(), nil
}

// Close stops the sampler and the HTTP server (giving requests in flight
// a moment to finish) and waits for both. It is safe to call more than
// once; later calls return nil.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		s.lifeMu.Lock()
		s.closed = true
		srv := s.httpSrv
		s.lifeMu.Unlock()
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if shutdownErr := srv.Shutdown(ctx); shutdownErr != nil {
				// Requests still running (a slow action): cut them off.
				err = errors.Join(err, srv.Close())
			}
			cancel()
		}
		s.wg.Wait()
		s.lifeMu.Lock()
		err = errors.Join(err, s.serveErr)
		s.lifeMu.Unlock()
	})
	return err
}

// runSampler takes a snapshot every interval until Close.
func (s *Server) runSampler() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sample()
		}
	}
}

// snapshot asks the source, stamping the time if the source did not.
func (s *Server) snapshot() Snapshot {
	snap := s.src.Snapshot()
	if snap.TimeMs == 0 {
		snap.TimeMs = s.now().UnixMilli()
	}
	return snap
}

// sample takes one snapshot, derives the rates since the previous one
// and records them in the history.
func (s *Server) sample() {
	snap := s.snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hasPrev {
		if r, ok := deriveRates(s.prev, snap); ok {
			s.hist.add(r)
			s.latestRates = &r
		}
	}
	s.prev, s.hasPrev = snap, true
	s.latest = snap
}

// refreshLatest takes a snapshot for the page only, so an action's effect
// shows at once; rates keep coming from the regular samples.
func (s *Server) refreshLatest() {
	snap := s.snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	if snap.TimeMs >= s.latest.TimeMs {
		s.latest = snap
	}
}
