package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/pki"
	"github.com/tiercache/tiercache/raftmeta"
)

func init() {
	register("ctl", "operate the control plane (topology, nodes, keyspaces, drains, certificates)", runCtl)
}

const ctlUsage = `usage: tiercache ctl [--meta ADDR[,ADDR]] [--ca F --cert F --key F | --insecure] [--json] COMMAND

commands:
  status                          the answering member's view of the Raft group
  topology                        epoch, regions, nodes and keyspaces
  nodes                           the nodes and their states
  keyspace list                   every keyspace's settings
  keyspace get NAME               one keyspace ("default" for the default)
  keyspace set NAME [--ttl 60s] [--soft-ttl D] [--hard-ttl D] [--ttl-jitter D]
                    [--early-refresh F] [--l1 off|hot|all] [--hot-l1-ttl D]
                    [--sticky-window D] [--replicas N] [--max-value-bytes N]
                    [--stampede-scope region|global] [--replace]
                                  change the given settings (the rest are kept;
                                  --replace starts from all defaults)
  keyspace delete NAME            drop a keyspace's own settings
  drain NODE | undrain NODE       start or stop draining a node
  weight NODE N                   set a node's weight
  member add ID RAFT_ADDR API_ADDR | member remove ID
  rebalance status                progress of the current range migration
  rebalance pause|resume          hold or continue the migration's pushes
  certs --out DIR [NAME=ROLE ...] write a development CA and certificates
                                  (roles: server, node, client, admin)

Global flags may also follow the command.`

// ctlGlobal holds the flags every ctl command takes.
type ctlGlobal struct {
	meta    string
	tls     metaTLSFlags
	json    bool
	timeout time.Duration
}

func (g *ctlGlobal) register(fs *flag.FlagSet) {
	fs.StringVar(&g.meta, "meta", g.meta, "API address(es) of control-plane members, comma-separated")
	fs.BoolVar(&g.json, "json", g.json, "print JSON for scripts instead of tables")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "give up after this long")
	g.tls.register(fs)
}

func (g *ctlGlobal) client() (*raftmeta.Client, error) {
	ca, cert, key, err := g.tls.load()
	if err != nil {
		return nil, err
	}
	return raftmeta.NewClient(raftmeta.ClientConfig{
		Members: strings.Split(g.meta, ","), CAPEM: ca, CertPEM: cert, KeyPEM: key,
		Insecure: g.tls.insecure, RetryFor: g.timeout,
	})
}

// ctlFlags returns a flag set for one command that also takes the global
// flags, so they may come before or after the command.
func ctlFlags(name string, g *ctlGlobal, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ctl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, ctlUsage) }
	g.register(fs)
	return fs
}

// ctlParse parses flags and positional arguments in any order.
func ctlParse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if args = fs.Args(); len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

func runCtl(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	g := &ctlGlobal{meta: "127.0.0.1:9101", timeout: 10 * time.Second}
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, ctlUsage) }
	g.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, ctlUsage)
		return errors.New("no command")
	}
	verb, rest := fs.Arg(0), fs.Args()[1:]
	if verb == "keyspace" || verb == "rebalance" || verb == "member" {
		if len(rest) == 0 {
			return fmt.Errorf("%s needs a subcommand; see 'tiercache ctl -h'", verb)
		}
		verb, rest = verb+" "+rest[0], rest[1:]
	}
	if verb == "certs" {
		return ctlCerts(g, rest, stdout, stderr)
	}
	lf := ctlFlags(verb, g, stderr)
	var ks *ctlKeyspaceFlags
	if verb == "keyspace set" {
		ks = newCtlKeyspaceFlags(lf)
	}
	pos, err := ctlParse(lf, rest)
	if err != nil {
		return err
	}
	want := map[string]int{"status": 0, "topology": 0, "nodes": 0, "keyspace list": 0, "keyspace get": 1, "keyspace set": 1,
		"keyspace delete": 1, "drain": 1, "undrain": 1, "weight": 2, "member add": 3, "member remove": 1, "rebalance status": 0,
		"rebalance pause": 0, "rebalance resume": 0}
	n, ok := want[verb]
	if !ok {
		return fmt.Errorf("unknown command %q; see 'tiercache ctl -h'", verb)
	}
	if len(pos) != n {
		return fmt.Errorf("%s takes %d argument(s), got %q", verb, n, pos)
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	out := &ctlOut{w: stdout, json: g.json}
	switch verb {
	case "status":
		return ctlStatus(ctx, cl, out)
	case "topology", "nodes":
		t, err := cl.Topology(ctx)
		if err != nil {
			return err
		}
		return ctlTopology(out, &t, verb == "nodes")
	case "keyspace list":
		l, err := cl.Keyspaces(ctx)
		if err != nil {
			return err
		}
		return out.print(l, func(w io.Writer) {
			fmt.Fprintf(w, "keyspace version %d\n\n", l.Version)
			ctlKeyspaceTable(w, l.Table)
		})
	case "keyspace get":
		e, err := cl.Keyspace(ctx, pos[0])
		if err != nil {
			return err
		}
		return out.print(e, func(w io.Writer) { ctlKeyspaceEntry(w, e) })
	case "keyspace set":
		return ctlKeyspaceSet(ctx, cl, out, pos[0], ks)
	case "keyspace delete":
		return ctlWrote(out, "keyspace "+pos[0]+" deleted")(cl.DeleteKeyspace(ctx, pos[0]))
	case "drain":
		return ctlWrote(out, "node "+pos[0]+" draining")(cl.Drain(ctx, pos[0]))
	case "undrain":
		return ctlWrote(out, "node "+pos[0]+" no longer draining")(cl.Undrain(ctx, pos[0]))
	case "weight":
		w, err := strconv.Atoi(pos[1])
		if err != nil {
			return fmt.Errorf("weight %q is not a number", pos[1])
		}
		return ctlWrote(out, fmt.Sprintf("node %s weight %d", pos[0], w))(cl.SetWeight(ctx, pos[0], w))
	case "member add":
		return ctlWrote(out, "member "+pos[0]+" added")(cl.AddMember(ctx, raftmeta.JoinRequest{ID: pos[0], RaftAddress: pos[1], HTTPAddress: pos[2]}))
	case "member remove":
		return ctlWrote(out, "member "+pos[0]+" removed")(cl.RemoveMember(ctx, pos[0]))
	case "rebalance status":
		r, err := cl.Rebalance(ctx)
		if err != nil {
			return err
		}
		return out.print(r, func(w io.Writer) { ctlRebalance(w, r) })
	case "rebalance pause":
		return ctlWrote(out, "rebalance paused")(cl.PauseRebalance(ctx))
	case "rebalance resume":
		return ctlWrote(out, "rebalance resumed")(cl.ResumeRebalance(ctx))
	}
	return nil
}

// ctlOut prints either JSON or the human form.
type ctlOut struct {
	w    io.Writer
	json bool
}

func (o *ctlOut) print(v any, human func(io.Writer)) error {
	if o.json {
		enc := json.NewEncoder(o.w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	human(o.w)
	return nil
}

func ctlWrote(out *ctlOut, what string) func(raftmeta.WriteResult, error) error {
	return func(r raftmeta.WriteResult, err error) error {
		if err != nil {
			return err
		}
		return out.print(r, func(w io.Writer) {
			note := ""
			if !r.Changed {
				note = " (already so; nothing changed)"
			}
			fmt.Fprintf(w, "%s%s: epoch %d, keyspace version %d\n", what, note, r.Epoch, r.KeyspaceVersion)
		})
	}
}

func ctlTable(w io.Writer, header string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func ctlStatus(ctx context.Context, cl *raftmeta.Client, out *ctlOut) error {
	s, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	return out.print(s, func(w io.Writer) {
		leader := s.Leader
		if leader == "" {
			leader = "(none)"
		}
		fmt.Fprintf(w, "member %s (%s), leader %s, term %d, epoch %d, keyspace version %d, applied %d of %d, %d watches held\n\n",
			s.Member, s.RaftState, leader, s.Term, s.Epoch, s.KeyspaceVersion, s.AppliedIndex, s.CommitIndex, s.HeldPolls)
		var rows [][]string
		for _, m := range s.Members {
			rows = append(rows, []string{m.ID, m.RaftAddress, m.HTTPAddress, yesNo(m.Voter), yesNo(m.Leader)})
		}
		ctlTable(w, "MEMBER\tRAFT\tAPI\tVOTER\tLEADER", rows)
	})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func ctlTopology(out *ctlOut, t *raftmeta.Topology, nodesOnly bool) error {
	if nodesOnly {
		return out.print(t.Nodes, func(w io.Writer) { ctlNodes(w, t) })
	}
	return out.print(t, func(w io.Writer) {
		fmt.Fprintf(w, "epoch %d, keyspace version %d\n\n", t.Epoch, t.KeyspaceVersion)
		var rows [][]string
		for _, r := range t.Regions {
			rows = append(rows, []string{r.Name, strconv.Itoa(r.ID)})
		}
		ctlTable(w, "REGION\tID", rows)
		fmt.Fprintln(w)
		ctlNodes(w, t)
		fmt.Fprintln(w)
		ctlKeyspaceTable(w, t.Keyspaces)
	})
}

func ctlNodes(w io.Writer, t *raftmeta.Topology) {
	var rows [][]string
	for _, n := range t.Nodes {
		fed := n.FederationAddress
		if fed == "" {
			fed = "-"
		}
		rows = append(rows, []string{n.ID, n.Region, string(n.Tier), string(n.State), strconv.Itoa(n.Weight), n.Address, fed, strconv.FormatUint(n.StateEpoch, 10)})
	}
	if len(rows) == 0 {
		fmt.Fprintf(w, "no nodes registered (epoch %d)\n", t.Epoch)
		return
	}
	ctlTable(w, "NODE\tREGION\tTIER\tSTATE\tWEIGHT\tADDRESS\tFEDERATION\tSINCE EPOCH", rows)
}

func ctlKeyspaceTable(w io.Writer, tb keyspace.Table) {
	row := func(name string, s keyspace.Settings) []string {
		soft := "-"
		if s.SoftTTL > 0 {
			soft = s.Soft().String()
		}
		ttl := s.TTL
		if ttl == 0 {
			ttl = keyspace.DefaultTTL
		}
		return []string{name, ttl.String(), soft, s.Hard().String(), string(s.L1Mode()), s.StickyWindow.String(),
			strconv.Itoa(s.Copies()), strconv.Itoa(s.MaxValue()), string(s.Scope())}
	}
	rows := [][]string{row(raftmeta.DefaultKeyspace, tb.Default)}
	names := make([]string, 0, len(tb.Spaces))
	for n := range tb.Spaces {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		rows = append(rows, row(n, tb.Spaces[n]))
	}
	ctlTable(w, "KEYSPACE\tTTL\tSOFT\tHARD\tL1\tSTICKY\tREPLICAS\tMAX VALUE\tSCOPE", rows)
}

func ctlKeyspaceEntry(w io.Writer, e raftmeta.KeyspaceEntry) {
	if e.Inherited {
		fmt.Fprintf(w, "keyspace %s has no settings of its own; it uses the default (keyspace version %d):\n\n", e.Name, e.Version)
	} else {
		fmt.Fprintf(w, "keyspace %s (keyspace version %d):\n\n", e.Name, e.Version)
	}
	s := e.Settings
	mark := func(zero bool) string {
		if zero {
			return "(default)"
		}
		return ""
	}
	rows := [][]string{
		{"ttl", s.TTL.String(), mark(s.TTL == 0)},
		{"ttl-jitter", s.TTLJitter.String(), mark(s.TTLJitter == 0)},
		{"soft-ttl", s.Soft().String(), mark(s.SoftTTL == 0)},
		{"hard-ttl", s.Hard().String(), mark(s.HardTTL == 0)},
		{"early-refresh", strconv.FormatFloat(s.Beta(), 'g', -1, 64), mark(s.EarlyRefresh == 0)},
		{"l1", string(s.L1Mode()), mark(s.L1 == "")},
		{"hot-l1-ttl", s.HotTTL().String(), mark(s.HotL1TTL == 0)},
		{"sticky-window", s.StickyWindow.String(), mark(s.StickyWindow == 0)},
		{"replicas", strconv.Itoa(s.Copies()), mark(s.Replicas == 0)},
		{"max-value-bytes", strconv.Itoa(s.MaxValue()), mark(s.MaxValueBytes == 0)},
		{"stampede-scope", string(s.Scope()), mark(s.StampedeScope == "")},
	}
	ctlTable(w, "SETTING\tVALUE\t", rows)
}

// ctlKeyspaceFlags are the flags of 'keyspace set'.
type ctlKeyspaceFlags struct {
	fs      *flag.FlagSet
	s       keyspace.Settings
	l1      string
	scope   string
	replace bool
}

func newCtlKeyspaceFlags(fs *flag.FlagSet) *ctlKeyspaceFlags {
	k := &ctlKeyspaceFlags{fs: fs}
	fs.DurationVar(&k.s.TTL, "ttl", 0, "entry lifetime")
	fs.DurationVar(&k.s.TTLJitter, "ttl-jitter", 0, "random extra lifetime, up to this")
	fs.DurationVar(&k.s.SoftTTL, "soft-ttl", 0, "fresh lifetime; stale served until hard-ttl")
	fs.DurationVar(&k.s.HardTTL, "hard-ttl", 0, "when an entry is gone for good")
	fs.Float64Var(&k.s.EarlyRefresh, "early-refresh", 0, "XFetch beta (negative turns it off)")
	fs.StringVar(&k.l1, "l1", "", "L1 policy: off, hot or all")
	fs.DurationVar(&k.s.HotL1TTL, "hot-l1-ttl", 0, "how long a client keeps a hot key")
	fs.DurationVar(&k.s.StickyWindow, "sticky-window", 0, "read-your-writes window")
	fs.IntVar(&k.s.Replicas, "replicas", 0, "copies in a region, primary included")
	fs.IntVar(&k.s.MaxValueBytes, "max-value-bytes", 0, "largest value accepted")
	fs.StringVar(&k.scope, "stampede-scope", "", "where the one-load lease is held: region or global")
	fs.BoolVar(&k.replace, "replace", false, "start from all defaults instead of the current settings")
	return k
}

// apply copies the flags that were given onto base.
func (k *ctlKeyspaceFlags) apply(base keyspace.Settings) keyspace.Settings {
	if k.replace {
		base = keyspace.Settings{}
	}
	k.fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "ttl":
			base.TTL = k.s.TTL
		case "ttl-jitter":
			base.TTLJitter = k.s.TTLJitter
		case "soft-ttl":
			base.SoftTTL = k.s.SoftTTL
		case "hard-ttl":
			base.HardTTL = k.s.HardTTL
		case "early-refresh":
			base.EarlyRefresh = k.s.EarlyRefresh
		case "l1":
			base.L1 = keyspace.L1Policy(k.l1)
		case "hot-l1-ttl":
			base.HotL1TTL = k.s.HotL1TTL
		case "sticky-window":
			base.StickyWindow = k.s.StickyWindow
		case "replicas":
			base.Replicas = k.s.Replicas
		case "max-value-bytes":
			base.MaxValueBytes = k.s.MaxValueBytes
		case "stampede-scope":
			base.StampedeScope = keyspace.Scope(k.scope)
		}
	})
	return base
}

// ctlKeyspaceSet changes the given settings of one keyspace, starting from
// its current (or inherited) settings, as a compare-and-set on the keyspace
// version so a concurrent change is not silently overwritten.
func ctlKeyspaceSet(ctx context.Context, cl *raftmeta.Client, out *ctlOut, name string, k *ctlKeyspaceFlags) error {
	cur, err := cl.Keyspace(ctx, name)
	if err != nil {
		return err
	}
	s := k.apply(cur.Settings)
	if err := s.Validate(); err != nil {
		return fmt.Errorf("keyspace %s not changed: %w", name, err)
	}
	res, err := cl.SetKeyspace(ctx, name, s, raftmeta.ExpectKeyspaceVersion(cur.Version))
	if errors.Is(err, raftmeta.ErrKeyspaceConflict) {
		return fmt.Errorf("keyspace settings changed while this command ran; nothing changed, run it again: %w", err)
	}
	return ctlWrote(out, "keyspace "+name+" set")(res, err)
}

// ctlCerts writes a development CA and certificates; it needs no member.
func ctlCerts(g *ctlGlobal, args []string, stdout, stderr io.Writer) error {
	fs := ctlFlags("certs", g, stderr)
	dir := fs.String("out", "", "directory to write ca.pem, ca-key.pem, NAME.pem and NAME-key.pem (required)")
	pos, err := ctlParse(fs, args)
	if err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("certs needs --out DIR")
	}
	names := map[string]pki.Role{"meta": pki.RoleServer, "node": pki.RoleNode, "client": pki.RoleClient, "admin": pki.RoleAdmin}
	if len(pos) > 0 {
		names = map[string]pki.Role{}
		for _, p := range pos {
			name, role, ok := strings.Cut(p, "=")
			switch pki.Role(role) {
			case pki.RoleServer, pki.RoleNode, pki.RoleClient, pki.RoleAdmin:
			default:
				ok = false
			}
			if !ok || name == "" || strings.ContainsAny(name, `/\`) {
				return fmt.Errorf("certificate %q: want NAME=ROLE with ROLE one of server, node, client, admin", p)
			}
			names[name] = pki.Role(role)
		}
	}
	if err := pki.WriteDevPKI(*dir, names); err != nil {
		return err
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	slices.Sort(list)
	out := &ctlOut{w: stdout, json: g.json}
	return out.print(names, func(w io.Writer) {
		fmt.Fprintf(w, "CA: %s (key %s)\n", filepath.Join(*dir, "ca.pem"), filepath.Join(*dir, "ca-key.pem"))
		var rows [][]string
		for _, n := range list {
			rows = append(rows, []string{n, string(names[n]), filepath.Join(*dir, n+".pem"), filepath.Join(*dir, n+"-key.pem")})
		}
		ctlTable(w, "NAME\tROLE\tCERTIFICATE\tKEY", rows)
	})
}
