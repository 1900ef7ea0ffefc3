package pod

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
	"golang.org/x/crypto/bcrypt"
)

// ErrForbidden: the user may not do this to that entity.
var ErrForbidden = errors.New("forbidden")

// dummyHash is a hash of the pod's cost to compare against for unknown users.
func (p *Pod) dummyHash() []byte {
	p.dummyOnce.Do(func() {
		p.dummy, _ = bcrypt.GenerateFromPassword([]byte("no such user"), p.bcryptCost())
	})
	return p.dummy
}

func (p *Pod) bcryptCost() int {
	if p.cfg.BcryptCost == 0 {
		return bcrypt.DefaultCost
	}
	return p.cfg.BcryptCost
}

// AddUser creates a local person with a new key, the default aspects and
// a bcrypt password hash, and returns the diaspora* ID.
func (p *Pod) AddUser(ctx context.Context, username, password string) (string, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	id := username + "@" + p.domain
	if err := discovery.ValidateID(id); err != nil || strings.ContainsAny(username, ".") {
		return "", fmt.Errorf("%w: username %q (use a-z, 0-9, _ and -)", store.ErrInvalid, username)
	}
	if len(password) < 8 || len(password) > 72 {
		return "", fmt.Errorf("%w: the password must have 8 to 72 bytes", store.ErrInvalid)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), p.bcryptCost())
	if err != nil {
		return "", err
	}
	key, err := magicenv.GenerateKey(p.cfg.KeyBits, nil)
	if err != nil {
		return "", err
	}
	aspects, err := p.DefaultAspects(ctx)
	if err != nil {
		return "", err
	}
	if err := p.store.CreateUser(ctx, username, id, NewGUID(), p.base, key, string(hash), aspects); err != nil {
		return "", err
	}
	p.autofollow(ctx, username, aspects[0])
	return id, nil
}

// autofollow makes a new user share with the account of the Autofollow
// setting, in their first aspect. The account exists already; a failure
// here is logged and does not undo the sign-up.
func (p *Pod) autofollow(ctx context.Context, username, aspect string) {
	to, err := p.Autofollow(ctx)
	if err != nil || to == "" || to == username {
		if err != nil {
			p.log.ErrorContext(ctx, "reading the autofollow setting", "err", err)
		}
		return
	}
	target, err := p.store.UserByName(ctx, to)
	if err == nil {
		var u *store.User
		if u, err = p.store.UserByName(ctx, username); err == nil {
			_, err = p.ShareWith(ctx, u, target.ID, []string{aspect}, false)
		}
	}
	if err != nil {
		p.log.WarnContext(ctx, "a new user could not start sharing with the autofollow account", "user", username, "autofollow", to, "err", err)
	}
}

// Login checks a password; a wrong user and a wrong password look alike.
// addr is the client's address: checks are throttled per account and per
// address, and bounded in number (see loginLimits); a refused check is
// ThrottledError.
func (p *Pod) Login(ctx context.Context, username, password, addr string) (*store.User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	done, err := p.logins.begin(ctx, username, addr)
	if err != nil {
		return nil, err
	}
	hash, err := p.store.PasswordHash(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		// Spend the same time as a real check, so that timing does not
		// tell which usernames exist.
		bcrypt.CompareHashAndPassword(p.dummyHash(), []byte(password))
		done(false)
		return nil, ErrForbidden
	}
	if err != nil {
		done(true)
		return nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		done(false)
		return nil, ErrForbidden
	}
	done(true)
	return p.store.UserByName(ctx, username)
}

// PostInput is a new status message.
type PostInput struct {
	Text     string              `json:"text"`
	Public   *bool               `json:"public"`  // default true
	Aspects  []string            `json:"aspects"` // for a limited post: aspect names
	Photos   []string            `json:"photos"`  // image URLs
	Location *store.LocationView `json:"location"`
	Poll     *PollInput          `json:"poll"`
	// IdempotencyKey, when set (the API's Idempotency-Key header), makes a
	// retried request with the same key within IdempotencyWindow return
	// the post the first one made instead of a second post.
	IdempotencyKey string `json:"-"`
}

const (
	// maxIdempotencyKey is the longest Idempotency-Key taken.
	maxIdempotencyKey = 255
	// maxMentionLookups caps the unknown mentioned people a post makes
	// the pod discover; mentionDeadline bounds those lookups in all. They
	// run after the post is stored, so a slow pod never delays the answer.
	maxMentionLookups = 20
	mentionDeadline   = 30 * time.Second
	// maxMentions caps the mentions stored (and notified) per post.
	maxMentions = 100
)

// CreatePost stores a status message and queues its deliveries in the
// same transaction. A public post is signed once and sent once to the
// pod of every contact of the author (either direction) and of every
// person it mentions (people the pod does not know yet are discovered
// after the post is stored, see maxMentionLookups); a limited post is
// encrypted for each remote member of the chosen aspects.
func (p *Pod) CreatePost(ctx context.Context, u *store.User, in PostInput) (*store.PostView, error) {
	if len(in.IdempotencyKey) > maxIdempotencyKey {
		return nil, fmt.Errorf("%w: an Idempotency-Key has at most %d bytes", store.ErrInvalid, maxIdempotencyKey)
	}
	if in.IdempotencyKey != "" {
		if guid, err := store.PostByRequest(ctx, p.store, u.Username, in.IdempotencyKey); err != nil || guid != "" {
			if err != nil {
				return nil, err
			}
			return p.store.PostView(ctx, u, guid)
		}
	}
	public := in.Public == nil || *in.Public
	sm := &entities.StatusMessage{Author: u.ID, GUID: NewGUID(), CreatedAt: time.Now().UTC().Truncate(time.Second),
		Public: public, Text: in.Text}
	if strings.TrimSpace(in.Text) == "" {
		return nil, fmt.Errorf("%w: a post needs text", store.ErrInvalid)
	}
	if public && len(in.Aspects) > 0 {
		return nil, fmt.Errorf("%w: a public post goes to everyone; send aspects only with \"public\": false", store.ErrInvalid)
	}
	if err := attach(sm, in.Photos, in.Location, in.Poll); err != nil {
		return nil, err
	}
	if err := p.photoSizes(ctx, sm); err != nil {
		return nil, err
	}
	if err := sm.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	payload, err := entities.MarshalXML(sm)
	if err != nil {
		return nil, err
	}
	mentions := parseMentions(in.Text)
	if len(mentions) > maxMentions {
		mentions = mentions[:maxMentions]
	}
	var ds []salmon.Delivery
	var pods, unknown []string
	var signed []byte
	var localRecipients, remoteRecipients []string
	if public {
		pods, err = store.ContactPods(ctx, p.store, u.Username)
		if err != nil {
			return nil, err
		}
		for _, m := range mentions {
			per, err := p.store.Cache().Get(ctx, m)
			switch {
			case err == nil && store.NormPod(per.PodURL) != p.base:
				pods = appendOnce(pods, store.NormPod(per.PodURL))
			case errors.Is(err, discovery.ErrCacheMiss) && len(unknown) < maxMentionLookups:
				unknown = append(unknown, m)
			}
		}
		env, err := magicenv.Sign(payload, u.ID, p.signer(u.Key), p.envOpts)
		if err != nil {
			return nil, err
		}
		signed = env.Marshal()
		if ds, err = deliveriesFor(signed, pods); err != nil {
			return nil, err
		}
	} else {
		if len(in.Aspects) == 0 {
			return nil, fmt.Errorf("%w: a limited post (\"public\": false) needs at least one aspect", store.ErrInvalid)
		}
		recipients, remote, locals, err := p.aspectMembers(ctx, u, in.Aspects)
		if err != nil {
			return nil, err
		}
		localRecipients, remoteRecipients = locals, remote
		if ds, err = salmon.PrivateDeliveries(payload, u.ID, p.signer(u.Key), recipients, p.envOpts); err != nil {
			return nil, err
		}
	}
	guid := sm.GUID
	err = p.store.Do(ctx, func(tx *store.Tx) error {
		if in.IdempotencyKey != "" {
			earlier, err := store.PostByRequest(ctx, tx, u.Username, in.IdempotencyKey)
			if err != nil || earlier != "" {
				guid, unknown = earlier, nil
				return err
			}
			if err := store.RecordPostRequest(ctx, tx, u.Username, in.IdempotencyKey, sm.GUID); err != nil {
				return err
			}
		}
		row := &store.PostRow{GUID: sm.GUID, Type: sm.Type(), Author: u.ID, Text: sm.Text, Public: public, Local: true, Payload: payload,
			CreatedAt: sm.CreatedAt, Extra: extraOf(sm)}
		if _, err := store.InsertPost(ctx, tx, row, parseTags(sm.Text), mentions); err != nil {
			return err
		}
		if _, err := store.AddPostPods(ctx, tx, sm.GUID, pods); err != nil {
			return err
		}
		if err := store.AddPostRecipients(ctx, tx, sm.GUID, remoteRecipients); err != nil {
			return err
		}
		if err := store.AddPostVisibility(ctx, tx, sm.GUID, localRecipients...); err != nil {
			return err
		}
		if err := store.NotifyMentioned(ctx, tx, sm.GUID, u.ID, mentions); err != nil {
			return err
		}
		return store.Enqueue(ctx, tx, "status_message:"+sm.GUID, ds)
	})
	if err != nil {
		return nil, err
	}
	notify(p.queue.wake)
	if len(unknown) > 0 {
		p.bg.Add(1)
		go func() {
			defer p.bg.Done()
			p.deliverToMentioned(sm.GUID, signed, unknown)
		}()
	}
	return p.store.PostView(ctx, u, guid)
}

// deliverToMentioned discovers the mentioned people of a public post the
// pod did not know (within mentionDeadline in all) and sends the signed
// post to those of their pods it has not gone to yet.
func (p *Pod) deliverToMentioned(guid string, signed []byte, ids []string) {
	ctx, cancel := context.WithTimeout(p.bgCtx, mentionDeadline)
	defer cancel()
	found := make([]string, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if per, err := p.findPerson(ctx, id, mentionDeadline, true); err == nil {
				found[i] = store.NormPod(per.PodURL)
			} else {
				p.log.InfoContext(ctx, "mentioned person not found", "post", guid, "id", id, "err", err)
			}
		}()
	}
	wg.Wait()
	err := p.store.Do(ctx, func(tx *store.Tx) error {
		if _, err := store.GetPost(ctx, tx, guid); err != nil {
			return nil // retracted meanwhile
		}
		var pods []string
		for _, pod := range found {
			if pod != "" && pod != p.base {
				pods = append(pods, pod)
			}
		}
		pods, err := store.AddPostPods(ctx, tx, guid, pods)
		if err != nil {
			return err
		}
		ds, err := deliveriesFor(signed, pods)
		if err != nil {
			return err
		}
		return store.Enqueue(ctx, tx, "status_message:"+guid, ds)
	})
	if err != nil {
		p.log.ErrorContext(ctx, "delivering to mentioned people", "post", guid, "err", err)
		return
	}
	notify(p.queue.wake)
}

// signer is a local user's key, counted in p.signatures when it signs an
// envelope.
func (p *Pod) signer(k *rsa.PrivateKey) crypto.Signer {
	return countingSigner{key: k, n: &p.signatures}
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// lookup finds a person in the store or through discovery, for a
// person's request (see findPerson).
func (p *Pod) lookup(ctx context.Context, id string) (*discovery.Person, error) {
	return p.findPerson(ctx, id, apiLookupTimeout, true)
}

// aspectMembers returns the remote recipients and local usernames of the
// people a user put into the named aspects, once each; an aspect the user
// does not have is ErrInvalid.
func (p *Pod) aspectMembers(ctx context.Context, u *store.User, aspects []string) (rs []salmon.Recipient, remote, locals []string, err error) {
	ids, err := p.store.AspectIDs(ctx, u.Username, aspects)
	if err != nil {
		return nil, nil, nil, err
	}
	members, err := store.AspectsMembers(ctx, p.store, ids)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, id := range members {
		per, err := p.store.Person(ctx, p.store, id)
		if err != nil {
			return nil, nil, nil, err
		}
		if per.Local {
			if lu, err := p.store.UserByID(ctx, id); err == nil {
				locals = appendOnce(locals, lu.Username)
			}
			continue
		}
		pub, err := p.store.ParsedKey(per.PublicKeyPEM)
		if err != nil {
			return nil, nil, nil, err
		}
		rs = append(rs, salmon.Recipient{GUID: per.GUID, Pod: per.PodURL, PublicKey: pub})
		remote = append(remote, id)
	}
	return rs, remote, locals, nil
}

// localPostDeliveries builds the deliveries of something that goes to
// the audience of a local post (an interaction, a retraction), signed by
// the post's author: publicly to every pod the post went to, or encrypted
// for each remote recipient of a limited post.
func (p *Pod) localPostDeliveries(ctx context.Context, q store.Q, post *store.PostRow, payload []byte) ([]salmon.Delivery, error) {
	root, pods, rs, err := p.localPostAudience(ctx, q, post)
	if err != nil {
		return nil, err
	}
	env, err := magicenv.Sign(payload, root.ID, p.signer(root.Key), p.envOpts)
	if err != nil {
		return nil, err
	}
	return envelopeDeliveries(env.Marshal(), post.Public, pods, rs)
}

// localPostAudience returns the author of a local post and where the post
// went: pods (public) or remote recipients (limited).
func (p *Pod) localPostAudience(ctx context.Context, q store.Q, post *store.PostRow) (*store.User, []string, []salmon.Recipient, error) {
	root, err := p.store.LocalUser(ctx, q, post.Author)
	if err != nil {
		return nil, nil, nil, err
	}
	if post.Public {
		pods, err := store.PostPods(ctx, q, post.GUID)
		return root, pods, nil, err
	}
	ids, err := store.PostRecipients(ctx, q, post.GUID)
	if err != nil {
		return nil, nil, nil, err
	}
	var rs []salmon.Recipient
	for _, id := range ids {
		per, err := p.store.Person(ctx, q, id)
		if err != nil {
			return nil, nil, nil, err
		}
		pub, err := discovery.ParsePublicKey([]byte(per.PublicKeyPEM))
		if err != nil {
			return nil, nil, nil, err
		}
		rs = append(rs, salmon.Recipient{GUID: per.GUID, Pod: per.PodURL, PublicKey: pub})
	}
	return root, nil, rs, nil
}

// envelopeDeliveries sends a signed envelope: the same body to each pod's
// public route, or encrypted for each recipient's private route.
func envelopeDeliveries(signed []byte, public bool, pods []string, rs []salmon.Recipient) ([]salmon.Delivery, error) {
	if public {
		return deliveriesFor(signed, pods)
	}
	var ds []salmon.Delivery
	for _, r := range rs {
		body, err := magicenv.Encrypt(signed, r.PublicKey, nil)
		if err != nil {
			return nil, err
		}
		u := store.NormPod(r.Pod) + "receive/users/" + url.PathEscape(r.GUID)
		ds = append(ds, salmon.Delivery{ID: u, URL: u, ContentType: magicenv.EncryptedContentType, Body: body})
	}
	return ds, nil
}

// Interact adds a comment (text != "") or a like to a post the user can
// read. On a local post it goes to every pod the post went to, signed by
// the post's author; on a remote one to the post author's pod.
func (p *Pod) Interact(ctx context.Context, u *store.User, postGUID, text string, like bool) (*store.InteractionView, error) {
	if _, err := p.store.PostView(ctx, u, postGUID); err != nil {
		return nil, err
	}
	post, err := store.GetPost(ctx, p.store, postGUID)
	if err != nil {
		return nil, err
	}
	var rel entities.Relayable
	row := &store.InteractionRow{GUID: NewGUID(), Author: u.ID, ParentType: "Post", ParentGUID: postGUID, PostGUID: postGUID,
		Positive: true, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if like {
		if liked, err := store.HasInteraction(ctx, p.store, "Like", u.ID, postGUID); err != nil {
			return nil, err
		} else if liked {
			return nil, fmt.Errorf("%w: you already like this post", store.ErrConflict)
		}
		row.Type = "Like"
		rel = &entities.Like{Author: u.ID, GUID: row.GUID, ParentGUID: postGUID, ParentType: "Post", Positive: true}
	} else {
		if strings.TrimSpace(text) == "" {
			return nil, fmt.Errorf("%w: a comment needs text", store.ErrInvalid)
		}
		row.Type, row.Text = "Comment", text
		rel = &entities.Comment{Author: u.ID, GUID: row.GUID, ParentGUID: postGUID, Text: text, CreatedAt: row.CreatedAt}
	}
	return p.sendInteraction(ctx, u, post, rel, row)
}

// sendInteraction signs a relayable by u, stores it and queues its
// deliveries in one transaction.
func (p *Pod) sendInteraction(ctx context.Context, u *store.User, post *store.PostRow, rel entities.Relayable, row *store.InteractionRow) (*store.InteractionView, error) {
	if err := rel.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	if err := rel.Sign(u.Key); err != nil {
		return nil, err
	}
	var err error
	if row.Payload, err = entities.MarshalXML(rel); err != nil {
		return nil, err
	}
	ds, err := p.interactionDeliveries(ctx, u, post, row.Payload)
	if err != nil {
		return nil, err
	}
	err = p.store.Do(ctx, func(tx *store.Tx) error {
		if _, err := store.InsertInteraction(ctx, tx, row); errors.Is(err, store.ErrSecondVote) {
			if row.Type == "Like" {
				return fmt.Errorf("%w: you already like this post", store.ErrConflict)
			}
			return fmt.Errorf("%w: you already voted in this poll", store.ErrConflict)
		} else if err != nil {
			return err
		}
		if err := store.NotifyInteraction(ctx, tx, row); err != nil {
			return err
		}
		return store.Enqueue(ctx, tx, strings.ToLower(row.Type)+":"+row.GUID, ds)
	})
	if err != nil {
		return nil, err
	}
	notify(p.queue.wake)
	return &store.InteractionView{GUID: row.GUID, Author: u.ID, Text: row.Text, CreatedAt: row.CreatedAt.Format(time.RFC3339)}, nil
}

// VoteView is a poll participation as the API shows it.
type VoteView struct {
	GUID      string `json:"guid"`
	Author    string `json:"author"`
	Answer    string `json:"answer"` // the guid of the chosen answer
	CreatedAt string `json:"created_at"`
}

// Vote takes part in the poll of a post.
func (p *Pod) Vote(ctx context.Context, u *store.User, postGUID, answerGUID string) (*VoteView, error) {
	if _, err := p.store.PostView(ctx, u, postGUID); err != nil {
		return nil, err
	}
	post, err := store.GetPost(ctx, p.store, postGUID)
	if err != nil {
		return nil, err
	}
	poll := post.Extra.Poll
	if poll == nil {
		return nil, fmt.Errorf("%w: the post has no poll", store.ErrInvalid)
	}
	if !slices.ContainsFunc(poll.Answers, func(a store.AnswerView) bool { return a.GUID == answerGUID }) {
		return nil, fmt.Errorf("%w: the poll has no answer with that guid", store.ErrInvalid)
	}
	if voted, err := store.HasInteraction(ctx, p.store, "PollParticipation", u.ID, poll.GUID); err != nil {
		return nil, err
	} else if voted {
		return nil, fmt.Errorf("%w: you already voted in this poll", store.ErrConflict)
	}
	pp := &entities.PollParticipation{Author: u.ID, GUID: NewGUID(), ParentGUID: poll.GUID, PollAnswerGUID: answerGUID}
	row := &store.InteractionRow{GUID: pp.GUID, Type: "PollParticipation", Author: u.ID, ParentType: "Poll", ParentGUID: poll.GUID,
		PostGUID: postGUID, Text: answerGUID, Positive: true, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	v, err := p.sendInteraction(ctx, u, post, pp, row)
	if err != nil {
		return nil, err
	}
	return &VoteView{GUID: v.GUID, Author: v.Author, Answer: answerGUID, CreatedAt: v.CreatedAt}, nil
}

// interactionDeliveries builds the deliveries of a relayable (or of its
// retraction) by u on post.
func (p *Pod) interactionDeliveries(ctx context.Context, u *store.User, post *store.PostRow, payload []byte) ([]salmon.Delivery, error) {
	if post.Local {
		return p.localPostDeliveries(ctx, p.store, post, payload)
	}
	author, err := p.store.Person(ctx, p.store, post.Author)
	if err != nil {
		return nil, err
	}
	if post.Public {
		return salmon.PublicDeliveries(payload, u.ID, u.Key, []string{author.PodURL}, p.envOpts)
	}
	pub, err := discovery.ParsePublicKey([]byte(author.PublicKeyPEM))
	if err != nil {
		return nil, err
	}
	return salmon.PrivateDeliveries(payload, u.ID, u.Key, []salmon.Recipient{{GUID: author.GUID, Pod: author.PodURL, PublicKey: pub}}, p.envOpts)
}

// DeletePost retracts a post of the user: deleted here, and a Retraction
// goes to every pod the post went to.
func (p *Pod) DeletePost(ctx context.Context, u *store.User, guid string) error {
	if _, err := p.store.PostView(ctx, u, guid); err != nil {
		return err // a post the user cannot see is not found
	}
	post, err := store.GetPost(ctx, p.store, guid)
	if err != nil {
		return err
	}
	if post.Author != u.ID {
		return ErrForbidden
	}
	r := &entities.Retraction{Author: u.ID, TargetGUID: guid, TargetType: "Post"}
	payload, err := entities.MarshalXML(r)
	if err != nil {
		return err
	}
	ds, err := p.localPostDeliveries(ctx, p.store, post, payload)
	if err != nil {
		return err
	}
	err = p.store.Do(ctx, func(tx *store.Tx) error {
		if err := store.Retract(ctx, tx, "Post", guid, u.ID); err != nil {
			return err
		}
		if err := store.DeleteUploads(ctx, tx, u.Username, p.uploadNames(post.Extra.Photos)); err != nil {
			return err
		}
		return store.Enqueue(ctx, tx, "retraction:"+guid, ds)
	})
	if err == nil {
		notify(p.queue.wake)
	}
	return err
}
