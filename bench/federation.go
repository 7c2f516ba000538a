package bench

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/federated"
	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/internal/pki"
	"github.com/tiercache/tiercache/l2/store"
	"github.com/tiercache/tiercache/l3"
	"github.com/tiercache/tiercache/regions"
)

// The federation scenario runs a federation endpoint and an L3 node per
// region of the local-3 profile on one simulated WAN, all linked, and
// measures (1) L3 fetches on every directed link against its RTT
// (l3_fetch_over_rtt near 1: one round trip, no handshake per request);
// (2) a federation link against one TLS 1.3 TCP connection with the same
// certificates and load, rounds alternating; (3) small requests with loss
// on the link, where a lost TCP segment holds up every request behind it
// and a lost QUIC packet only its own streams. TCP cannot ride the WAN's
// PacketConn: regions.StreamConn gives each end the link's delay and
// jitter, in order, and models loss in TCP's favour (a lost segment comes
// one RTT late); QUIC's loss is real dropped packets and real recovery.

const (
	fedEchoKind   uint8 = 0xE0 // a request kind no tier registers
	fedFetchBytes       = 512  // the L3 value fetched
	fedReqBytes         = 128
	fedReplyBytes       = 1024
	fedSmallBytes       = 64
	fedSeed             = 31 // fixed, so jitter and loss repeat run to run
	// The throughput and loss rounds run on the profile's shortest link,
	// where a handshake or a retransmission per request weighs the most.
	fedFrom, fedTo = "us-east", "eu-west"
)

func federationScenario() Scenario {
	return Scenario{Name: "federation", Summary: "cross-region L3 fetch vs RTT; QUIC link vs TCP+TLS throughput and loss tail over the simulated WAN", Run: runFederation}
}

type fedOptions struct {
	fetches, callers, requests, concurrency, holRequests, holInFlight, runs int
	loss                                                                    float64
	link                                                                    regions.Link // fedFrom–fedTo
	progress                                                                func(string, ...any)
}

func runFederation(ctx context.Context, o Options) (*Result, error) {
	fs := flag.NewFlagSet("federation", flag.ContinueOnError)
	fo := fedOptions{callers: 8, holInFlight: 64, runs: cmp.Or(o.Runs, 3), progress: o.Progressf}
	fs.IntVar(&fo.fetches, "fetches", 400, "L3 fetches timed per directed link")
	fs.IntVar(&fo.requests, "requests", 6000, "requests per throughput round per protocol")
	fs.IntVar(&fo.concurrency, "concurrency", 256, "requests in flight in a throughput round")
	fs.IntVar(&fo.holRequests, "loss-requests", 3000, "small requests per protocol per run under loss")
	fs.Float64Var(&fo.loss, "loss", 0.01, "packet loss on the link for the loss figures")
	if err := fs.Parse(o.Args); err != nil {
		return nil, err
	}
	if o.Quick {
		fo.fetches, fo.requests, fo.holRequests = 40, 400, 300
	}
	if fo.concurrency < 1 || fo.requests < 1 || fo.holRequests < 1 || fo.fetches < fo.callers {
		return nil, fmt.Errorf("bench federation: -concurrency, -requests, -loss-requests below 1 or -fetches below %d", fo.callers)
	}
	// The regions' certificates, kept so the TCP peer presents the same.
	certs := map[string][3][]byte{}
	d, err := startFederated(ctx, federated.Options{L2Nodes: 1, Seed: fedSeed, Configure: func(region string, cfg *federation.Config) {
		certs[region] = [3][]byte{cfg.CAPEM, cfg.CertPEM, cfg.KeyPEM}
		// Production timeouts, not the assembly's test-friendly ones.
		cfg.KeepAlive, cfg.IdleTimeout, cfg.HandshakeTimeout, cfg.BackoffMin, cfg.BackoffMax = 0, 0, 0, 0, 0
	}})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	fo.link, _ = d.WAN.Profile().Link(fedFrom, fedTo) // local-3 has it
	for _, r := range d.Regions() {
		r.Endpoint.Handle(fedEchoKind, federation.HandlerFunc(func(_ context.Context, req []byte) ([]byte, error) { return echoReply(req) }))
	}
	before := linkStats(d)
	res := NewResult("federation", fo.runs)
	if err := measureFetches(ctx, d, fo, res); err != nil {
		return nil, err
	}
	if err := measureThroughput(ctx, d, certs, fo, res); err != nil {
		return nil, err
	}
	var redials, connects uint64
	for k, st := range linkStats(d) {
		redials += st.Dials - before[k].Dials
		connects = max(connects, st.Connects)
	}
	res.Figures["quic_connects_per_link"] = float64(connects)
	res.Figures["quic_redials_during_run"] = float64(redials)
	res.Notes["workload"] = fmt.Sprintf("local-3, WAN seed %d. Fetch: %d L3 hits of %d B per directed link, %d sequential callers, after warm-up. "+
		"Throughput %s→%s: %d requests of %d B answered with %d B, %d in flight, %d alternating rounds after a warm-up round; QUIC: one link, a stream per request; "+
		"TCP: one mutual TLS 1.3 connection with the same certificates, request ids, batched writes, the link's delay and jitter each way, in order. Loss: %.1f%%, %d requests of %d B per side per run, %d in flight",
		fedSeed, fo.fetches, fedFetchBytes, fo.callers, fedFrom, fedTo, fo.requests, fedReqBytes, fedReplyBytes, fo.concurrency, fo.runs, fo.loss*100, fo.holRequests, fedSmallBytes, fo.holInFlight)
	res.Notes["tcp_loss_model"] = "TCP loss is modelled (regions.StreamConn): a lost segment arrives one RTT late, TCP's best case, and later bytes wait behind it; QUIC's loss is real packets dropped by the WAN"
	res.Notes["targets"] = "l3_fetch_over_rtt <= 1.1; quic_connects_per_link 1 and quic_redials_during_run 0 (no handshake per request)"
	return res, nil
}

// linkStats snapshots every link; its dial and connect counters show
// whether any request paid for a handshake.
func linkStats(d *federated.Deployment) map[string]federation.LinkStats {
	out := map[string]federation.LinkStats{}
	for _, r := range d.Regions() {
		for _, l := range r.Endpoint.Links() {
			out[r.Name+"→"+l.Region()] = l.Stats()
		}
	}
	return out
}

// measureFetches times L3 hits on all directed links at once (they share
// no queue), each by sequential callers: a sample is a latency, no queue.
func measureFetches(ctx context.Context, d *federated.Deployment, fo fedOptions, res *Result) error {
	type job struct {
		from, to *federated.Region
		took     []time.Duration
		err      error
	}
	var jobs []*job
	var wg sync.WaitGroup
	for _, from := range d.Regions() {
		for _, to := range d.Regions() {
			if from != to {
				j := &job{from: from, to: to}
				jobs = append(jobs, j)
				wg.Go(func() { j.took, j.err = fetchLink(ctx, from, to, fo) })
			}
		}
	}
	wg.Wait()
	worst := 0.0
	for _, j := range jobs {
		name := j.from.Name + "_to_" + j.to.Name
		if j.err != nil {
			return fmt.Errorf("bench federation: fetch %s: %w", name, j.err)
		}
		link, _ := d.WAN.Profile().Link(j.from.Name, j.to.Name)
		p50, p99 := Percentile(j.took, 50), Percentile(j.took, 99)
		res.Figures["l3_fetch_p50_ms_"+name] = Millis(p50)
		res.Figures["l3_fetch_p99_ms_"+name] = Millis(p99)
		res.Figures["rtt_ms_"+name] = Millis(link.RTT)
		if ratio := float64(p50) / float64(link.RTT); ratio > worst {
			worst = ratio
			res.Notes["l3_fetch_worst_link"] = name
		}
		fo.progress("fetch %-20s rtt %5.1f ms  p50 %6.1f ms  p99 %6.1f ms  (%d)\n", name, Millis(link.RTT), Millis(p50), Millis(p99), len(j.took))
	}
	res.Figures["l3_fetch_over_rtt"] = worst
	return nil
}

// fetchLink fills a key owned by to's L3 node and reads it from from as an
// L2 owner's miss would, through from's L3 client.
func fetchLink(ctx context.Context, from, to *federated.Region, fo fedOptions) ([]time.Duration, error) {
	var key []byte
	for i := 0; ; i++ {
		key = fmt.Appendf(nil, "fed:%s:%d", to.Name, i)
		if m, err := from.Client.Owner(key); err != nil {
			return nil, err
		} else if m.Region == to.Name {
			break
		}
	}
	lease, err := to.L3.Get(l3.GetRequest{Key: key, Mode: l3.ModeLease})
	if err == nil {
		_, err = to.L3.Fill(l3.FillRequest{Key: key, Token: lease.Token, Item: store.Item{Value: make([]byte, fedFetchBytes), Version: 1}})
	}
	if err != nil {
		return nil, err
	}
	get := func(ctx context.Context, _ []byte) ([]byte, error) {
		rep, err := from.Client.Get(ctx, l3.GetRequest{Key: key, Mode: l3.ModeLease})
		if err == nil && rep.Status != l3.StatusHit {
			err = fmt.Errorf("status %v, want a hit", rep.Status)
		}
		return rep.Item.Value, err
	}
	// One untimed fetch per caller, then each caller's fetches one by one.
	if _, _, err := drive(ctx, get, fo.callers, fo.callers, 4, fedFetchBytes); err != nil {
		return nil, err
	}
	took, _, err := drive(ctx, get, fo.fetches, fo.callers, 4, fedFetchBytes)
	return took, err
}

// measureThroughput alternates QUIC and TCP rounds on one link, then runs
// small requests on both with loss on the link.
func measureThroughput(ctx context.Context, d *federated.Deployment, certs map[string][3][]byte, fo fedOptions, res *Result) error {
	r, err := d.Region(fedFrom)
	if err != nil {
		return err
	}
	ql, _ := r.Endpoint.Link(fedTo) // federated links every pair
	tcp, err := dialTCPLink(ctx, d.WAN, fedFrom, fedTo, certs)
	if err != nil {
		return err
	}
	defer tcp.close()
	sides := map[string]func(context.Context, []byte) ([]byte, error){
		"quic": func(ctx context.Context, req []byte) ([]byte, error) { return ql.Call(ctx, fedEchoKind, req, true) },
		"tcp":  tcp.call,
	}
	// An untimed round each first, so quic-go's congestion window opens as
	// a long-lived link's has. (TCP's is the kernel's over loopback and
	// never limits it: in TCP's favour.)
	for _, call := range sides {
		if _, _, err := drive(ctx, call, min(4*fo.concurrency, fo.requests), fo.concurrency, fedReqBytes, fedReplyBytes); err != nil {
			return fmt.Errorf("bench federation: warm-up: %w", err)
		}
	}
	// Each run measures both sides, swapping which goes first, so drift of
	// the shared machine falls on both alike.
	alternate := func(n, inFlight, size, replySize int, got func(run int, who string, took []time.Duration, elapsed time.Duration)) error {
		for run := range fo.runs {
			for i := range 2 {
				who := []string{"quic", "tcp"}[(run+i)%2]
				took, elapsed, err := drive(ctx, sides[who], n, inFlight, size, replySize)
				if err != nil {
					return fmt.Errorf("bench federation: %s, run %d: %w", who, run+1, err)
				}
				got(run, who, took, elapsed)
			}
		}
		return nil
	}
	ops := map[string][]float64{}
	err = alternate(fo.requests, fo.concurrency, fedReqBytes, fedReplyBytes, func(run int, who string, took []time.Duration, elapsed time.Duration) {
		ops[who] = append(ops[who], float64(len(took))/elapsed.Seconds())
		fo.progress("run %d/%d  %-4s %8.0f ops/s  p50 %6.1f ms  p99 %6.1f ms\n", run+1, fo.runs, who, ops[who][run], Millis(Percentile(took, 50)), Millis(Percentile(took, 99)))
	})
	if err != nil {
		return err
	}
	var ratios []float64
	for i := range ops["quic"] {
		ratios = append(ratios, Ratio(ops["quic"][i], ops["tcp"][i]))
	}
	res.Figures["quic_ops_per_s"], res.Figures["tcp_ops_per_s"] = Mean(ops["quic"]), Mean(ops["tcp"])
	res.Figures["quic_over_tcp_throughput"] = median(ratios)
	res.Series["quic_over_tcp_throughput"] = ratios

	lossy := fo.link
	lossy.Loss = fo.loss
	if err := d.WAN.SetLink(lossy); err != nil { // QUIC's packets and TCP's stream alike
		return err
	}
	defer func() { _ = d.WAN.SetLink(fo.link) }()
	tails := map[string][]time.Duration{}
	err = alternate(fo.holRequests, fo.holInFlight, fedSmallBytes, fedSmallBytes, func(_ int, who string, took []time.Duration, _ time.Duration) {
		tails[who] = append(tails[who], took...)
	})
	if err != nil {
		return err
	}
	for _, who := range []string{"quic", "tcp"} {
		s := tails[who]
		slices.Sort(s)
		over, _ := slices.BinarySearch(s, fo.link.RTT*3/2)
		slow := float64(len(s)-over) / float64(len(s))
		res.Figures["loss_p99_ms_"+who] = Millis(Percentile(s, 99))
		res.Figures["loss_slow_share_"+who] = slow
		fo.progress("loss %.1f%%  %-4s p50 %6.1f ms  p99 %6.1f ms  %.2f%% over 1.5 RTT  (%d)\n", fo.loss*100, who, Millis(Percentile(s, 50)), Millis(Percentile(s, 99)), 100*slow, len(s))
	}
	res.Figures["loss_p99_quic_over_tcp"] = Ratio(res.Figures["loss_p99_ms_quic"], res.Figures["loss_p99_ms_tcp"])
	return nil
}

// drive sends n requests of size bytes asking for replySize, inFlight at a
// time, and returns each latency and the round's wall time.
func drive(ctx context.Context, call func(context.Context, []byte) ([]byte, error), n, inFlight, size, replySize int) ([]time.Duration, time.Duration, error) {
	req := make([]byte, size)
	binary.BigEndian.PutUint32(req, uint32(replySize))
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var next atomic.Int64
	took := make([]time.Duration, n)
	errs := make(chan error, inFlight)
	start := time.Now()
	for range inFlight {
		go func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				t := time.Now()
				rep, err := call(ctx, req)
				if err == nil && len(rep) != replySize {
					err = fmt.Errorf("reply of %d bytes, want %d", len(rep), replySize)
				}
				if err != nil {
					cancel() // the others stop at their next call
					errs <- err
					return
				}
				took[i] = time.Since(t)
			}
			errs <- nil
		}()
	}
	var err error
	for range inFlight {
		err = cmp.Or(err, <-errs)
	}
	return took, time.Since(start), err
}

// echoReply answers a throughput request, QUIC or TCP alike, with as many
// bytes as the request's first four name: a shared zero buffer, never
// written, which the Handler contract allows.
func echoReply(req []byte) ([]byte, error) {
	if len(req) < 4 || binary.BigEndian.Uint32(req) > uint32(len(zeroReply)) {
		return nil, fmt.Errorf("bad echo request of %d bytes", len(req))
	}
	return zeroReply[:binary.BigEndian.Uint32(req)], nil
}

var zeroReply = make([]byte, 64<<10)

// tcpLink is the TCP+TLS twin of a federation link: one connection from
// region from to a server in region to, both ends regions.StreamConns of
// the same WAN link. Frames carry a request id, a length and a payload, so
// calls are multiplexed on the connection. Callers write under a lock and
// the last one queued flushes, so calls made together share TLS records
// and packets; one reader hands each reply to its caller. It never redials.
type tcpLink struct {
	conn *tls.Conn
	wg   sync.WaitGroup

	mu      sync.Mutex // protects pending, nextID and broken
	pending map[uint32]chan []byte
	nextID  uint32
	broken  error

	wmu    sync.Mutex // serialises frames into bw
	bw     *bufio.Writer
	queued atomic.Int32 // callers holding or waiting for wmu
}

func dialTCPLink(ctx context.Context, wan *regions.WAN, from, to string, certs map[string][3][]byte) (*tcpLink, error) {
	sc, cc := certs[to], certs[from]
	serverTLS, err1 := pki.ServerTLS(sc[0], sc[1], sc[2], pki.RoleServer)
	clientTLS, err2 := pki.ClientTLS(cc[0], cc[1], cc[2], to, pki.RoleServer)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close() // it serves the one connection accepted below
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, err
	}
	srv, err := ln.Accept()
	if err != nil {
		_ = cli.Close()
		return nil, err
	}
	cs, err := wan.Stream(from, to, cli)
	if err != nil {
		_, _ = cli.Close(), srv.Close()
		return nil, err
	}
	ss, _ := wan.Stream(to, from, srv) // the same link, so no error either
	t := &tcpLink{conn: tls.Client(cs, clientTLS), pending: map[uint32]chan []byte{}}
	t.wg.Go(func() { serveEcho(tls.Server(ss, serverTLS)) })
	if err := t.conn.HandshakeContext(ctx); err != nil {
		t.close()
		return nil, err
	}
	t.bw = bufio.NewWriterSize(t.conn, 64<<10)
	t.wg.Go(t.readReplies)
	return t, nil
}

// serveEcho answers requests in order, flushing when no request is left
// buffered (the batching any pipelining server does), until the client
// closes.
func serveEcho(conn *tls.Conn) {
	defer conn.Close()
	br, bw := bufio.NewReaderSize(conn, 64<<10), bufio.NewWriterSize(conn, 64<<10)
	for {
		id, req, err := readMuxFrame(br)
		if err == nil {
			req, err = echoReply(req)
		}
		if err == nil {
			err = writeMuxFrame(bw, id, req)
		}
		if err == nil && br.Buffered() == 0 {
			err = bw.Flush()
		}
		if err != nil {
			return
		}
	}
}

func (t *tcpLink) call(ctx context.Context, req []byte) ([]byte, error) {
	ch := make(chan []byte, 1) // the reader never blocks on a caller
	t.mu.Lock()
	t.nextID++
	id, err := t.nextID, t.broken
	t.pending[id] = ch
	t.mu.Unlock()
	defer func() { t.mu.Lock(); delete(t.pending, id); t.mu.Unlock() }()
	if err != nil {
		return nil, err
	}
	t.queued.Add(1)
	t.wmu.Lock()
	err = writeMuxFrame(t.bw, id, req)
	if t.queued.Add(-1) == 0 && err == nil {
		err = t.bw.Flush() // nobody else is about to write: send now
	}
	t.wmu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case rep, ok := <-ch:
		if !ok {
			return nil, net.ErrClosed
		}
		return rep, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (t *tcpLink) readReplies() {
	br := bufio.NewReaderSize(t.conn, 64<<10)
	for {
		id, rep, err := readMuxFrame(br)
		t.mu.Lock()
		if ch, ok := t.pending[id]; ok && err == nil {
			ch <- rep
		} else if err != nil { // fail every waiting and later call
			t.broken = fmt.Errorf("tcp link: %w", err)
			for _, ch := range t.pending {
				close(ch)
			}
			clear(t.pending)
		}
		t.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// close closes the client, whose end ends the server's loop, and waits
// for both.
func (t *tcpLink) close() {
	_ = t.conn.Close()
	t.wg.Wait()
}

func writeMuxFrame(w *bufio.Writer, id uint32, p []byte) error {
	_, _ = w.Write(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, id), uint32(len(p))))
	_, err := w.Write(p)
	return err
}

func readMuxFrame(r *bufio.Reader) (uint32, []byte, error) {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[4:])
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("frame of %d bytes", n)
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return binary.BigEndian.Uint32(h[:]), p, err
}
