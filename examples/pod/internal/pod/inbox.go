package pod

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// publicKey is the receiver's key resolver: the people table (local
// people and the discovery cache), else discovery. Authors on blocked
// pods have no key here, so nothing from them is accepted.
func (p *Pod) publicKey(ctx context.Context, author string) (*rsa.PublicKey, error) {
	if _, host, ok := strings.Cut(author, "@"); ok {
		if b, err := p.store.Blocked(ctx, host); err != nil {
			return nil, err
		} else if b {
			return nil, fmt.Errorf("%w: %w: %s", magicenv.ErrKeyNotFound, errBlockedPod, host)
		}
	}
	nid, err := discovery.NormalizeID(author)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", magicenv.ErrKeyNotFound, err)
	}
	if per, err := p.store.Cache().Get(ctx, nid); err == nil {
		return per.PublicKey, nil
	} else if !errors.Is(err, discovery.ErrCacheMiss) {
		return nil, err
	}
	_, host, _ := strings.Cut(nid, "@")
	if err = p.lookups.remembered(nid, host); err == nil {
		// Unknown: looked up in the background, so that a slow host never
		// holds the inbox worker.
		p.lookupInBackground(nid)
		err = errLookupPending{nid}
	}
	if ctx.Err() != nil || discovery.IsTemporary(err) || errors.As(err, new(errLookupPending)) {
		return nil, temporaryKeyError{&discovery.KeyError{Author: author, Err: err}}
	}
	return nil, fmt.Errorf("%w: %w", magicenv.ErrKeyNotFound, err)
}

// temporaryKeyError is a key lookup to try again later: the receive
// pipeline reads its Temporary method (see magicenv.KeyLookupError).
type temporaryKeyError struct{ error }

func (e temporaryKeyError) Unwrap() error { return e.error }
func (temporaryKeyError) Temporary() bool { return true }

const maxInboxAttempts = 10

// errBlockedPod: a body came from a pod the podmin blocked.
var errBlockedPod = errors.New("refused because the pod is blocked")

// finalError marks a refusal by the pod itself (not the SDK): no retry.
type finalError struct{ err error }

func (e finalError) Error() string { return e.err.Error() }

func (e finalError) Unwrap() error { return e.err }

// inboxBatch is how many due rows the worker leases at once: one commit
// (one fsync) for the leases of a batch instead of one per row.
const inboxBatch = 32

// inboxWorkers is how many received bodies are processed at once. One:
// key lookups run in the background (lookupInBackground), and on a small
// machine more workers only compete with receive requests for the CPU
// and the store (measured: 8 workers accepted a 64-sender burst at about
// 2,500/s, one at about 3,900/s).
const inboxWorkers = 1

func (p *Pod) runInbox(ctx context.Context) {
	jobs := make(chan []*store.InboxItem)
	var wg sync.WaitGroup
	for range inboxWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var worked time.Duration
			for batch := range jobs {
				worked = p.processBatch(ctx, batch, worked)
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	var purged time.Time
	for ctx.Err() == nil {
		if time.Since(purged) > time.Hour {
			purged = time.Now()
			if err := p.store.PurgeRejected(ctx, 7*24*time.Hour); err != nil && ctx.Err() == nil {
				p.log.ErrorContext(ctx, "inbox purge", "err", err)
			}
			if err := p.store.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
				p.log.ErrorContext(ctx, "session purge", "err", err)
			}
		}
		its, err := p.store.ClaimInboxBatch(ctx, inboxBatch)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
				p.log.ErrorContext(ctx, "inbox claim", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-p.inWake:
			case <-time.After(p.cfg.Poll):
			}
			continue
		}
		select {
		case jobs <- its:
		case <-ctx.Done():
			return // the leases run out and the rows are taken again
		}
	}
}

// maxKeyLookupAttempts is how often a body is tried whose sender's key
// could not be looked up (the sender's pod did not answer): fewer than
// other temporary failures, since a stranger's unreachable host is the
// cheapest way to make the pod retry.
const maxKeyLookupAttempts = 4

// processBatch runs a claimed batch of inbox bodies through the SDK's
// receive pipeline one by one (pausing for receive requests, see
// yieldToReceives; worked is how long the previous body took) and
// applies the verified ones together in one transaction (applyBatch).
// It returns how long the last body took.
func (p *Pod) processBatch(ctx context.Context, batch []*store.InboxItem, worked time.Duration) time.Duration {
	var ready []verified
	for _, it := range batch {
		p.yieldToReceives(ctx, worked)
		start := time.Now()
		msg, err := p.verify(ctx, it)
		if err != nil {
			temporary := salmon.IsTemporary(err)
			if errors.Is(err, salmon.ErrRelatedNotFound) && it.Attempts < 3 {
				// Deliveries are not ordered: the parent may still be on
				// its way (or its pod was unreachable for the fetch). Try
				// a few more times.
				temporary = true
			}
			p.settle(ctx, it, err, temporary)
		} else {
			ready = append(ready, verified{it, msg})
		}
		worked = time.Since(start)
	}
	// The next body waits for receives as long as this one and the
	// batch's transaction took together.
	start := time.Now()
	p.applyBatch(ctx, ready)
	return worked + time.Since(start)
}

// verified is an inbox body whose envelope and signatures the SDK
// checked, with its message.
type verified struct {
	it  *store.InboxItem
	msg *salmon.Message
}

// verify runs one inbox body through the SDK's receive pipeline,
// fetching an unknown parent or root once. Payloads are never logged.
func (p *Pod) verify(ctx context.Context, it *store.InboxItem) (*salmon.Message, error) {
	in := &salmon.Incoming{Route: it.Route, RecipientGUID: it.RecipientGUID, Format: it.Format, ContentType: it.ContentType, Body: it.Body}
	msg, err := p.receiver.Receive(ctx, in)
	var lerr *salmon.LookupError
	if err != nil && errors.Is(err, salmon.ErrRelatedNotFound) && errors.As(err, &lerr) {
		// An unknown parent or root: fetch it once, then try again.
		if ferr := p.fetchMissing(ctx, it, lerr); ferr == nil {
			msg, err = p.receiver.Receive(ctx, in)
		} else if !errors.Is(ferr, errNoFetch) {
			p.log.InfoContext(ctx, "fetch failed", "inbox_id", it.ID, "missing", lerr.Key, "err", ferr)
		}
	}
	return msg, err
}

// applyBatch stores the effects of verified messages and removes their
// inbox rows in one transaction, each message in a savepoint of its own:
// one that fails leaves nothing and is settled alone (a crash never
// applies a message twice or loses it). Should the transaction itself
// fail, each message is applied in a transaction of its own.
func (p *Pod) applyBatch(ctx context.Context, vs []verified) {
	var todo []verified
	errs := make([]error, len(vs))
	for i, v := range vs {
		if errs[i] = p.senderAllowed(ctx, v.msg); errs[i] == nil {
			todo = append(todo, v)
		}
	}
	applied, err := p.store.Batch(ctx, len(todo), func(tx *store.Tx, i int) error {
		if err := p.applyTx(ctx, tx, todo[i].msg); err != nil {
			return err
		}
		return store.InboxDone(ctx, tx, todo[i].it.ID)
	})
	if err != nil && len(todo) > 0 {
		if ctx.Err() != nil {
			return // the leases run out and the rows are taken again
		}
		p.log.WarnContext(ctx, "inbox batch", "bodies", len(todo), "err", err)
		for i, v := range todo {
			applied[i] = p.apply(ctx, v.it.ID, v.msg)
		}
	}
	k := 0
	for i, v := range vs {
		if errs[i] == nil {
			errs[i] = applied[k]
			k++
		}
		if isFinal(errs[i]) {
			errs[i] = finalError{errs[i]}
		}
		if errs[i] == nil {
			p.log.InfoContext(ctx, "received", "entity_type", v.msg.Entity.Type(), "guid", guidOf(v.msg.Entity),
				"author", entities.Author(v.msg.Entity), "sender", v.msg.Sender)
			continue
		}
		var fe finalError
		p.settle(ctx, v.it, errs[i], !errors.As(errs[i], &fe))
	}
	if len(todo) > 0 {
		notify(p.queue.wake)
	}
}

// settle puts back a body that failed temporarily (with a growing delay,
// up to maxInboxAttempts) or drops it for good, keeping only its record
// for the podmin.
func (p *Pod) settle(ctx context.Context, it *store.InboxItem, err error, temporary bool) {
	if ctx.Err() != nil {
		return // the lease runs out and the row is taken again
	}
	cat := salmon.Category(err)
	// Error texts of private messages may quote the decrypted payload:
	// only their category is logged.
	var detail any = err
	if it.Route == salmon.RoutePrivate {
		detail = "(private: redacted)"
	}
	var pending errLookupPending
	var kerr *magicenv.KeyLookupError
	switch {
	case errors.As(err, &pending):
		// The sender is being looked up in the background: the body waits
		// for it (made due when a lookup ends) without spending an attempt.
		if err := p.store.InboxRetry(ctx, it.ID, it.Attempts, time.Now().Add(inboxLookupTimeout+time.Second), lookupPendingReason); err != nil {
			p.log.ErrorContext(ctx, "inbox retry", "err", err)
		}
		return
	case temporary && errors.As(err, &kerr) && it.Attempts+1 >= maxKeyLookupAttempts:
		temporary = false
	}
	if temporary && it.Attempts+1 < maxInboxAttempts {
		delay := time.Duration(1<<it.Attempts) * p.cfg.InboxBackoff
		p.log.WarnContext(ctx, "receive: will retry", "inbox_id", it.ID, "category", cat, "err", detail, "in", delay)
		if err := p.store.InboxRetry(ctx, it.ID, it.Attempts+1, time.Now().Add(delay), cat); err != nil {
			p.log.ErrorContext(ctx, "inbox retry", "err", err)
		}
		return
	}
	if errors.Is(err, errBlockedPod) {
		cat = "blocked_pod"
		detail = err
		p.log.InfoContext(ctx, "receive: refused because the sender's pod is blocked", "inbox_id", it.ID, "err", detail)
	} else {
		p.log.InfoContext(ctx, "receive: rejected", "inbox_id", it.ID, "category", cat, "err", detail)
	}
	if err := p.store.InboxDead(ctx, it, cat); err != nil {
		p.log.ErrorContext(ctx, "inbox dead", "err", err)
	}
}

func guidOf(e entities.Entity) string {
	switch e := e.(type) {
	case *entities.StatusMessage:
		return e.GUID
	case *entities.Reshare:
		return e.GUID
	case *entities.Comment:
		return e.GUID
	case *entities.Like:
		return e.GUID
	case *entities.PollParticipation:
		return e.GUID
	case *entities.Retraction:
		return e.TargetGUID
	case *entities.Conversation:
		return e.GUID
	case *entities.Message:
		return e.GUID
	}
	return ""
}

// postFamily maps entity class names to the posts table.
func postFamily(typ string) string {
	switch typ {
	case "StatusMessage", "Reshare", "Post":
		return "Post"
	}
	return typ
}

// apply stores a verified message and marks its inbox row done, in one
// transaction, so that a crash never applies a message twice or loses it.
func (p *Pod) apply(ctx context.Context, inboxID int64, msg *salmon.Message) error {
	if err := p.senderAllowed(ctx, msg); err != nil {
		return err
	}
	err := p.store.Do(ctx, func(tx *store.Tx) error {
		if err := p.applyTx(ctx, tx, msg); err != nil {
			return err
		}
		return store.InboxDone(ctx, tx, inboxID)
	})
	if isFinal(err) {
		return finalError{err}
	}
	if err == nil {
		notify(p.queue.wake)
	}
	return err
}

// isFinal reports the store's refusals that no retry changes: a guid
// taken by another author, a message by someone outside its
// conversation.
func isFinal(err error) bool {
	return errors.Is(err, store.ErrWrongAuthor) || errors.Is(err, store.ErrNotParticipant)
}

// senderAllowed refuses a message whose sender's pod is blocked.
func (p *Pod) senderAllowed(ctx context.Context, msg *salmon.Message) error {
	if _, host, ok := strings.Cut(msg.Sender, "@"); ok {
		if b, err := p.store.Blocked(ctx, host); err != nil {
			return err
		} else if b {
			return finalError{fmt.Errorf("%w: %s (sender %s)", errBlockedPod, host, msg.Sender)}
		}
	}
	return nil
}

func (p *Pod) applyTx(ctx context.Context, tx *store.Tx, msg *salmon.Message) error {
	switch e := msg.Entity.(type) {
	case *entities.StatusMessage:
		row := &store.PostRow{GUID: e.GUID, Type: e.Type(), Author: e.Author, Text: e.Text, Public: e.Public, Payload: msg.Payload,
			CreatedAt: e.CreatedAt, Extra: extraOf(e)}
		mentions := parseMentions(e.Text)
		existed, err := store.InsertPost(ctx, tx, row, parseTags(e.Text), mentions)
		if err != nil {
			return err
		}
		if err := p.addVisibility(ctx, tx, e.GUID, e.Public, msg.Recipient); err != nil || existed {
			return err
		}
		return store.NotifyMentioned(ctx, tx, e.GUID, e.Author, mentions)
	case *entities.Reshare:
		row := &store.PostRow{GUID: e.GUID, Type: e.Type(), Author: e.Author, Public: true, RootGUID: e.RootGUID, Payload: msg.Payload, CreatedAt: e.CreatedAt}
		existed, err := store.InsertPost(ctx, tx, row, nil, nil)
		if err != nil || existed {
			return err
		}
		return store.NotifyLocalAuthor(ctx, tx, e.RootGUID, "reshared", e.Author)
	case *entities.Comment:
		row := &store.InteractionRow{GUID: e.GUID, Type: "Comment", Author: e.Author, ParentType: "Post", ParentGUID: e.ParentGUID,
			PostGUID: e.ParentGUID, Text: e.Text, Positive: true, Payload: msg.Payload, CreatedAt: e.CreatedAt}
		return p.storeRelayable(ctx, tx, msg, row)
	case *entities.Like:
		row := &store.InteractionRow{GUID: e.GUID, Type: "Like", Author: e.Author, ParentType: e.ParentType, ParentGUID: e.ParentGUID,
			PostGUID: e.ParentGUID, Positive: e.Positive, Payload: msg.Payload, CreatedAt: time.Now().UTC()}
		if e.ParentType == "Comment" {
			c, err := store.GetInteraction(ctx, tx, e.ParentGUID)
			if err != nil {
				return err
			}
			row.PostGUID = c.PostGUID
		}
		return p.storeRelayable(ctx, tx, msg, row)
	case *entities.PollParticipation:
		postGUID, err := store.PollPost(ctx, tx, e.ParentGUID)
		if err != nil {
			return err
		}
		row := &store.InteractionRow{GUID: e.GUID, Type: "PollParticipation", Author: e.Author, ParentType: "Poll", ParentGUID: e.ParentGUID,
			PostGUID: postGUID, Text: e.PollAnswerGUID, Positive: true, Payload: msg.Payload, CreatedAt: time.Now().UTC()}
		return p.storeRelayable(ctx, tx, msg, row)
	case *entities.Retraction:
		family := postFamily(e.TargetType)
		var relayPost string
		if family == "Comment" || family == "Like" || family == "PollParticipation" {
			if i, err := store.GetInteraction(ctx, tx, e.TargetGUID); err == nil {
				relayPost = i.PostGUID
			}
		}
		if err := store.Retract(ctx, tx, family, e.TargetGUID, e.Author); err != nil {
			return err
		}
		if relayPost != "" {
			// The retraction of an interaction on a local post goes
			// where the interaction went.
			return p.relayTx(ctx, tx, relayPost, msg.Payload, "retraction:"+e.TargetGUID)
		}
		return nil
	case *entities.Contact:
		u, err := p.store.LocalUser(ctx, tx, e.Recipient)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		// diaspora*: the author shares with the recipient while the
		// entity says sharing (a block says it does not).
		return p.receiveSharing(ctx, tx, u, e.Author, e.Sharing && !e.Blocking)
	case *entities.Profile:
		name := e.FullName
		if name == "" {
			name = strings.TrimSpace(e.FirstName + " " + e.LastName)
		}
		return store.UpdateRemoteProfile(ctx, tx, e.Author, name, e.Bio)
	case *entities.Conversation:
		if !slices.Contains(e.ParticipantIDs(), msg.Recipient) {
			return finalError{fmt.Errorf("recipient %s is no participant", msg.Recipient)}
		}
		return store.StoreConversation(ctx, tx, e)
	case *entities.Message:
		return store.StoreMessage(ctx, tx, e)
	case *entities.AccountDeletion:
		return store.ForgetRemoteAccount(ctx, tx, e.Author)
	}
	return nil // other types are accepted and ignored by this small pod
}

// addVisibility records the local recipient of a limited post.
func (p *Pod) addVisibility(ctx context.Context, tx *store.Tx, guid string, public bool, recipient string) error {
	if public || recipient == "" {
		return nil
	}
	u, err := p.store.LocalUser(ctx, tx, recipient)
	if err != nil {
		return err
	}
	return store.AddPostVisibility(ctx, tx, guid, u.Username)
}

// storeRelayable stores a received comment or like and, when the post
// is local, relays it exactly as the author signed it.
func (p *Pod) storeRelayable(ctx context.Context, tx *store.Tx, msg *salmon.Message, row *store.InteractionRow) error {
	// On a local limited post only its recipients may answer.
	if post, err := store.GetPost(ctx, tx, row.PostGUID); err == nil && post.Local && !post.Public && row.Author != post.Author {
		if ok, err := store.IsPostRecipient(ctx, tx, post.GUID, row.Author); err != nil {
			return err
		} else if !ok {
			return finalError{fmt.Errorf("%s is no recipient of the limited post %s", row.Author, post.GUID)}
		}
	}
	existed, err := store.InsertInteraction(ctx, tx, row)
	if errors.Is(err, store.ErrSecondVote) {
		return nil // the author's first like or vote stands; this one is dropped
	}
	if err != nil || existed {
		return err
	}
	if err := store.NotifyInteraction(ctx, tx, row); err != nil {
		return err
	}
	post, err := store.GetPost(ctx, tx, row.PostGUID)
	if err != nil || !post.Local {
		return err
	}
	root, pods, rs, err := p.localPostAudience(ctx, tx, post)
	if err != nil {
		return err
	}
	// The payload exactly as the author signed it, in an envelope signed
	// by the root author, to everyone who received the post.
	env, err := salmon.Relay(msg, root.ID, root.Key, p.envOpts)
	if err != nil {
		return err
	}
	ds, err := envelopeDeliveries(env.Marshal(), post.Public, pods, rs)
	if err != nil {
		return err
	}
	return store.Enqueue(ctx, tx, strings.ToLower(row.Type)+":"+row.GUID, ds)
}

// relayTx sends payload (already signed by its author) to the pods of a
// local public post, in an envelope signed by the post's author.
func (p *Pod) relayTx(ctx context.Context, tx *store.Tx, postGUID string, payload []byte, entity string) error {
	post, err := store.GetPost(ctx, tx, postGUID)
	if err != nil || !post.Local {
		return nil
	}
	ds, err := p.localPostDeliveries(ctx, tx, post, payload)
	if err != nil {
		return err
	}
	return store.Enqueue(ctx, tx, entity, ds)
}
