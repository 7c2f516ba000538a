package l3

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tiercache/tiercache/federation"
)

// Registrar is where Serve registers its handlers; *federation.Endpoint
// implements it.
type Registrar interface {
	Handle(kind uint8, h federation.Handler)
}

// Serve registers on r the handlers that answer other regions' Clients for
// nodes, the L3 nodes this region's endpoint hosts. Requests name their
// node; one for a node not in nodes is answered with ErrUnknownNode. Call
// Serve again with the new set when it changes: the handlers are replaced.
// Closing a node makes its requests fail with ErrClosed; nothing else needs
// undoing.
//
// The handlers never block: each request is one call on a Node.
func Serve(r Registrar, nodes ...*Node) {
	s := &server{nodes: make(map[string]*Node, len(nodes))}
	for _, n := range nodes {
		s.nodes[n.ID()] = n
	}
	r.Handle(KindGet, federation.HandlerFunc(s.get))
	r.Handle(KindFill, federation.HandlerFunc(s.fill))
	r.Handle(KindInvalidate, federation.HandlerFunc(s.invalidate))
	r.Handle(KindRelease, federation.HandlerFunc(s.release))
}

type server struct {
	nodes map[string]*Node // read-only after Serve
}

func (s *server) node(id string) (*Node, error) {
	if n, ok := s.nodes[id]; ok {
		return n, nil
	}
	return nil, fmt.Errorf("%w: %q is not served here", ErrUnknownNode, id)
}

// A malformed request is the only error returned to federation (the caller
// sees federation.ErrRemote): it cannot come from our own Client. Node
// errors travel in the reply, so the caller can tell them apart.

func (s *server) get(ctx context.Context, msg []byte) ([]byte, error) {
	id, req, err := decodeGetRequest(msg)
	if err != nil {
		return nil, err
	}
	n, err := s.node(id)
	if err != nil {
		return appendError(nil, err), nil
	}
	span, traced := n.traceGet(ctx, req)
	rep, err := n.Get(req)
	if traced {
		if err == nil {
			span.SetAttributes(attribute.String("tiercache.status", rep.Status.String()))
		}
		span.End()
	}
	if err != nil {
		return appendError(nil, err), nil
	}
	return appendGetReply(make([]byte, 0, 32+len(rep.Item.Value)), rep, n.now()), nil
}

func (s *server) fill(_ context.Context, msg []byte) ([]byte, error) {
	id, err := peekNode(msg)
	if err != nil {
		return nil, err
	}
	n, err := s.node(id)
	if err != nil {
		return appendError(nil, err), nil
	}
	_, req, err := decodeFillRequest(msg, n.now())
	if err != nil {
		return nil, err
	}
	rep, err := n.Fill(req)
	if err != nil {
		return appendError(nil, err), nil
	}
	return appendWriteReply(nil, rep), nil
}

func (s *server) invalidate(_ context.Context, msg []byte) ([]byte, error) {
	id, version, key, err := decodeKeyRequest(msg)
	if err != nil {
		return nil, err
	}
	n, err := s.node(id)
	if err != nil {
		return appendError(nil, err), nil
	}
	rep, err := n.Invalidate(key, version)
	if err != nil {
		return appendError(nil, err), nil
	}
	return appendWriteReply(nil, rep), nil
}

func (s *server) release(_ context.Context, msg []byte) ([]byte, error) {
	id, token, key, err := decodeKeyRequest(msg)
	if err != nil {
		return nil, err
	}
	n, err := s.node(id)
	if err != nil {
		return appendError(nil, err), nil
	}
	ok, err := n.Release(key, token)
	if err != nil {
		return appendError(nil, err), nil
	}
	return appendWriteReply(nil, releaseReply(ok)), nil
}

func releaseReply(ok bool) WriteReply {
	if ok {
		return WriteReply{Status: StatusOK}
	}
	return WriteReply{Status: StatusNoLease}
}

// peekNode reads the node id at the head of a request, so the fill's
// expiries can be decoded against that node's clock.
func peekNode(msg []byte) (string, error) {
	d := decoder{b: msg}
	id := d.bytes("node")
	return string(id), d.err
}
