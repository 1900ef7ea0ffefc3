package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// errNoFetch: the missing entity is not one this pod fetches.
var errNoFetch = errors.New("pod: nothing to fetch")

// maxFetchRedirects is the reference's limit for fetch GETs.
const maxFetchRedirects = 4

// fetchClient is the guarded client for GET /fetch: unlike deliveries,
// fetches follow redirects (to the author's pod), each re-checked.
func (p *Pod) fetchClient() *http.Client {
	c := guardedClient(p.cfg.Dev)
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxFetchRedirects {
			return errors.New("pod: too many redirects")
		}
		if req.URL.Scheme != "https" && !(p.cfg.Dev && req.URL.Scheme == "http") {
			return fmt.Errorf("%w: %s", errBlockedAddress, req.URL.Redacted())
		}
		return nil
	}
	return c
}

// fetchMissing fetches the public post that a received public message
// refers to but this pod does not know (PROTOCOL.md §12.2): the parent of
// a relayable, from the relayable author's pod, or the root of a reshare,
// from the root author's pod. The fetched envelope goes through the whole
// receive pipeline and is stored; the caller then processes the message
// again.
func (p *Pod) fetchMissing(ctx context.Context, it *InboxItem, lerr *salmon.LookupError) error {
	typ, guid, ok := strings.Cut(lerr.Key, ":")
	if !ok || postFamily(typ) != "Post" || it.Route != salmon.RoutePublic {
		return errNoFetch
	}
	env, err := magicenv.Parse(it.Body)
	if err != nil {
		return err
	}
	e, err := entities.ParseXML(env.Payload(), nil)
	if err != nil {
		return err
	}
	hint := entities.Author(e)
	if rs, ok := e.(*entities.Reshare); ok {
		hint = rs.RootAuthor
	}
	per, err := p.lookup(ctx, hint)
	if err != nil {
		return err
	}
	target := per.PodURL + "fetch/post/" + url.PathEscape(guid)
	if u, err := url.Parse(target); err != nil || (u.Scheme != "https" && !(p.cfg.Dev && u.Scheme == "http")) {
		return fmt.Errorf("%w: %s", errBlockedAddress, target)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", magicenv.ContentType)
	req.Header.Set("User-Agent", "go-diaspora-pod/0.1")
	resp, err := p.fetchClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pod: fetching %s: status %d", target, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, magicenv.DefaultMaxSize+1))
	if err != nil {
		return err
	}
	if len(body) > magicenv.DefaultMaxSize {
		return fmt.Errorf("pod: fetching %s: %w", target, magicenv.ErrTooLarge)
	}
	msg, err := p.receiver.ReceivePublic(ctx, body)
	if err != nil {
		return fmt.Errorf("pod: fetched %s: %w", target, err)
	}
	if guidOf(msg.Entity) != guid || postFamily(entityClass(msg.Entity)) != "Post" {
		return fmt.Errorf("pod: fetched %s: not the post asked for", target)
	}
	if err := p.store.do(ctx, func(tx *sql.Tx) error { return p.applyTx(ctx, tx, msg) }); err != nil {
		return err
	}
	p.log.InfoContext(ctx, "fetched", "entity_type", msg.Entity.Type(), "guid", guid, "author", entities.Author(msg.Entity))
	return nil
}

// entityClass maps an entity to the reference's class name.
func entityClass(e entities.Entity) string {
	switch e.(type) {
	case *entities.StatusMessage:
		return "StatusMessage"
	case *entities.Reshare:
		return "Reshare"
	}
	return e.Type()
}
