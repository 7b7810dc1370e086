package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ninsho/ninsho/internal/changebudget"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/caseprom"
	"github.com/ninsho/ninsho/internal/clientip"
	"github.com/ninsho/ninsho/internal/closure"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/consent"
	"github.com/ninsho/ninsho/internal/console"
	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/desk"
	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/event/eventprom"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/invalidate"
	"github.com/ninsho/ninsho/internal/lease"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/messageprom"
	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/oidc"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/passkey"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/profile"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/realmset"
	"github.com/ninsho/ninsho/internal/reauth"
	"github.com/ninsho/ninsho/internal/recovery"
	"github.com/ninsho/ninsho/internal/reset"
	"github.com/ninsho/ninsho/internal/retention"
	"github.com/ninsho/ninsho/internal/review"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/server"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/sessions"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signingkey"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/smsguard"
	"github.com/ninsho/ninsho/internal/smsguard/smsguardprom"
	"github.com/ninsho/ninsho/internal/staff"
	"github.com/ninsho/ninsho/internal/startgate"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/trust"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/unlock"
	"github.com/ninsho/ninsho/internal/workthread"
)

// Options adjust an App for tests and embedding. The zero value is the
// production behaviour.
type Options struct {
	LogOutput io.Writer    // where logs go (default os.Stderr)
	Clock     ninsho.Clock // default ninsho.SystemClock
	Random    ninsho.Random
	// RealmTick, when set, paces the watch for realm settings changed at
	// run time instead of a ticker of realm_refresh (tests send on it).
	RealmTick <-chan time.Time
	// Delivered, when set in development mode, is called with every message
	// the development inbox has stored, from the dispatcher's goroutine, so
	// that tests wait for a delivery instead of polling the inbox.
	Delivered func(*message.Outgoing)
	// Shared opens a SQLite database without holding it as this process's
	// alone (store.Options.Exclusive), for a short-lived command next to a
	// running server (ninsho import).
	Shared bool
}

// App is one running Ninsho instance: the database, the services, the HTTP
// server and the background workers. NewApp builds it, Start serves, Close
// stops everything. End-to-end tests start it with Addr "127.0.0.1:0".
type App struct {
	Config  config.Config
	Logger  *slog.Logger
	DB      *store.DB
	Handler http.Handler

	dispatcher *message.Dispatcher
	kit        *authflow.Kit
	closure    *closure.Service
	help       *help.Service
	contact    *contact.Service
	// Staff runs staff accounts (the console, ninsho staff).
	Staff *staff.Service
	// SigningKeys keeps the realms' OpenID Connect signing keys (the
	// JWKS, ninsho keys).
	SigningKeys *signingkey.Service
	// Clients keeps the realms' registered OAuth / OpenID Connect clients
	// (ninsho clients).
	Clients *oauthclient.Service
	// Grants keeps what the OpenID Connect provider issues (codes, access
	// and refresh tokens).
	Grants *grant.Service
	// Backchannel tells clients of ended sessions (back-channel logout).
	Backchannel *oidc.Backchannel
	// Consents keeps what people allowed third-party OpenID Connect
	// clients.
	Consents *consent.Service
	// Orgs keeps organisations, their members and invitations.
	Orgs *org.Service
	// Realms are the realms, as stored (RealmSettings): Replace swaps
	// them when a change is seen (watchRealms).
	Realms *realm.Registry
	// RealmSettings keeps the realms' stored settings (ninsho realms, the
	// console's realms page).
	RealmSettings *realmset.Service
	// emailOnly says which realms have no SMS provider (wired at start).
	emailOnly func(id string) bool
	// realmTick, when set (tests), paces watchRealms instead of a ticker.
	realmTick <-chan time.Time
	// realmNudge wakes watchRealms when another instance changed a realm
	// (invalidate.Realms); it holds at most one wake-up.
	realmNudge chan struct{}
	// Notices hands the other instances' invalidation notices to this
	// one's caches; listener receives them (nil on SQLite: one process).
	Notices  *invalidate.Hub
	listener *store.Listener
	// Instance names this instance among those sharing the database
	// (host, process, random): the dispatcher's claims and the leases of
	// periodic work are held in its name.
	Instance string
	// jobs takes the leases of periodic work done once per period across
	// the instances (housekeeping).
	jobs *lease.Jobs
	// hashThreads run the password hashes (Limiter.UseThreads).
	hashThreads *workthread.Pool

	recovery  *recovery.Service
	srv       *http.Server
	ln        net.Listener
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	// realmMu guards realmStamp, the stamp of the realms served.
	realmMu    sync.Mutex
	realmStamp int64

	// metricsHandler serves /metrics on metrics.addr (nil: no listener of
	// its own); metricsSrv and metricsLn run it once started.
	metricsHandler http.Handler
	metricsSrv     *http.Server
	metricsLn      net.Listener
}

// NewApp builds an instance from a validated configuration: it opens (and
// migrates) the database and constructs every service. It serves nothing
// until Start.
func NewApp(ctx context.Context, cfg config.Config, o Options) (*App, error) {
	if o.LogOutput == nil {
		o.LogOutput = os.Stderr
	}
	if o.Clock == nil {
		o.Clock = ninsho.SystemClock{}
	}
	if o.Random == nil {
		o.Random = ninsho.SecureRandom
	}
	logger := newLogger(cfg, o.LogOutput)
	if err := cfg.CheckDevelopmentAddr(); err != nil {
		return nil, err
	}
	if cfg.Dev() {
		logger.Warn("development mode: every message goes to the development inbox at /dev/inbox; do not use in production",
			"reason", cfg.ModeReason(), "addr", cfg.Addr, "version", VersionString())
		for _, w := range cfg.RealmLinkWarnings() {
			logger.Warn("development mode: production would refuse this configuration", "problem", w.Error())
		}
	} else {
		logger.Info("production mode", "reason", cfg.ModeReason(), "version", VersionString())
	}
	if cfg.Dev() && (cfg.Secrets.HashKey == "" || len(cfg.Secrets.EncryptionKeys) == 0) {
		if err := loadDevSecrets(&cfg); err != nil {
			return nil, err
		}
	}
	hashKey, err := cfg.HashKey()
	if err != nil {
		return nil, fmt.Errorf("secrets.hash_key: %w", err)
	}
	encKeys, err := cfg.EncryptionKeys()
	if err != nil {
		return nil, fmt.Errorf("secrets.encryption_keys: %w", err)
	}
	hasher, err := secret.NewHasher(hashKey)
	if err != nil {
		return nil, err
	}
	box, err := secret.NewBox(o.Random, encKeys...)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir, URL: string(cfg.DatabaseURL), Clock: o.Clock, Exclusive: !o.Shared})
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	a := &App{Config: cfg, Logger: logger, DB: db, realmNudge: make(chan struct{}, 1), Notices: &invalidate.Hub{},
		Instance: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), ninsho.Token(o.Random, 6))}
	a.listener = db.Listener(a.Notices, logger)
	if db.Dialect() == "postgres" && !db.Notifies() {
		logger.Warn("the database has no LISTEN/NOTIFY (CockroachDB, or YugabyteDB with it turned off): a revocation reaches the other instances within signin's session cache lifetime, a realm change within realm_refresh",
			"session_cache_ttl", signin.SessionCacheTTL.String(), "realm_refresh", cfg.RealmRefreshEvery().String())
	}
	a.jobs = &lease.Jobs{Store: db, Clock: o.Clock, Holder: a.Instance}
	if err := a.build(cfg, o, hasher, box); err != nil {
		if a.hashThreads != nil {
			a.hashThreads.Close()
		}
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(cfg config.Config, o Options, hasher *secret.Hasher, box *secret.Box) error {
	db := a.DB
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Metrics and the security log watch the events the database kept.
	eventMetrics, err := eventprom.New(reg)
	if err != nil {
		return err
	}
	events := &event.Observed{Store: db, Observers: []event.Observer{eventMetrics, event.SecurityLog{Logger: a.Logger}}}
	// The realms are the stored ones, seeded from the configuration
	// (realms.go); cfg.Realms are they from here on.
	cfg, err = a.loadRealms(context.Background(), cfg, o, events)
	if err != nil {
		return err
	}
	a.Config = cfg

	var (
		inbox http.Handler
		dev   message.Sender
	)
	if cfg.Dev() {
		dev = devinbox.NewSender(db, o.Clock)
		if o.Delivered != nil {
			dev = &notifyingSender{Sender: dev, notify: o.Delivered}
		}
	}
	reports := &message.Reports{Store: db, Clock: o.Clock}
	if cfg.Dev() {
		ib := devinbox.NewHandler(db)
		ib.Reports = reports // POST /dev/api/messages/{id}/delivery
		inbox = ib
	}
	callbackBase := strings.TrimRight(cfg.PublicURL, "/")
	if callbackBase == "" {
		callbackBase = "http://" + cfg.Addr
	}
	provs, err := buildProviders(providerDeps{cfg: cfg, dev: dev, clock: o.Clock, hasher: hasher, reports: reports, callbackBase: callbackBase})
	if err != nil {
		return err
	}
	senders := provs.defaults
	// Realms take phone numbers only where text messages can be sent.
	a.emailOnly = func(id string) bool { return !provs.canSend(id, message.ChannelSMS) }
	realms, err := buildRealms(cfg, provs)
	if err != nil {
		return err
	}
	templates, err := message.DefaultTemplates()
	if err != nil {
		return err
	}
	looks, err := messageLooks(realms, templates)
	if err != nil {
		return err
	}
	outbox := message.NewOutbox(db, box, templates, o.Clock, o.Random)
	msgMetrics, err := messageprom.New(reg)
	if err != nil {
		return err
	}
	reports.Observer = msgMetrics // delivery reports: counts and latency
	msgMetrics.Providers(provs.names()...)
	if _, err := messageprom.NewBacklog(reg, db, o.Clock); err != nil {
		return err
	}
	a.dispatcher, err = message.NewDispatcher(message.DispatcherConfig{
		Store: db, Box: box, Templates: templates, Senders: senders, RealmSenders: provs.realms, Looks: looks,
		Clock: o.Clock, Random: o.Random, Owner: a.Instance,
		Wake: outbox.Wakeups(), Logger: a.Logger, Metrics: msgMetrics,
	})
	if err != nil {
		return err
	}

	concurrency := cfg.Password.Concurrency
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	queue := cfg.Password.Queue
	if queue <= 0 {
		queue = 64 * concurrency
	}
	limiter := password.NewLimiter(concurrency, queue, time.Duration(cfg.Password.MaxWait))
	// Hashes run on threads of their own at a lower priority, so that the
	// kernel lets the rest of the server (a refusal, a session check) past
	// them at once (workthread).
	a.hashThreads = workthread.New(limiter.MaxRunning(), cfg.Password.Nice)
	limiter.UseThreads(a.hashThreads.Run)
	a.Logger.Info("password hashing threads", "threads", limiter.MaxRunning(), "nice", cfg.Password.Nice,
		"lowered", a.hashThreads.Lowered, "pinned", a.hashThreads.Pinned)
	threads := a.hashThreads
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "ninsho", Subsystem: "password", Name: "hashes_total",
			Help: "Password hashes and verifications run on the hashing threads.",
		}, func() float64 { return float64(threads.Calls()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "ninsho", Subsystem: "password", Name: "hash_cpu_seconds_total",
			Help: "CPU time the hashing threads spent on password hashes (0 where the system keeps no CPU time per thread).",
		}, func() float64 { return threads.CPU().Seconds() }),
	)
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft memory limit sized to the hashing: each argon2id call holds
		// memory_kib, and a flood of connections must not grow the heap past
		// what the hashes need. GC works harder near the limit; nothing fails.
		debug.SetMemoryLimit(64<<20 + int64(limiter.MaxRunning())*int64(cfg.Password.MemoryKiB)<<10*2)
	}
	passwords := &password.Hasher{
		Params:  password.Params{Memory: cfg.Password.MemoryKiB, Time: cfg.Password.Time, Threads: cfg.Password.Threads, SaltLen: 16, KeyLen: 32},
		Limiter: limiter,
		Random:  o.Random,
	}
	sessPolicy := session.DefaultPolicy()
	sessPolicy.Idle = time.Duration(cfg.Session.Idle)
	sessPolicy.Absolute = time.Duration(cfg.Session.Absolute)

	kit := &authflow.Kit{
		Tx: db, Clock: o.Clock, Random: o.Random,
		Accounts: db, Flows: db, Events: events,
		Codes: &code.Service{Store: db, Clock: o.Clock, Random: o.Random, Hasher: hasher, Policy: code.DefaultPolicy(),
			Guard: &code.Guard{Store: db, Clock: o.Clock, Policy: code.DefaultGuardPolicy()}},
		Sessions:  &session.Service{Store: db, Clock: o.Clock, Random: o.Random, Hasher: hasher, Policy: sessPolicy},
		Devices:   &device.Service{Store: db, Clock: o.Clock, Random: o.Random, Hasher: hasher},
		Outbox:    outbox,
		Passwords: passwords,
		Policy:    password.DefaultPolicy(),
		Channels:  map[code.Channel]bool{},
		Binder:    &flow.Binder{Hasher: hasher, Random: o.Random},
		Counter:   &throttle.Counter{Store: db, Clock: o.Clock},
	}
	guardMetrics, err := smsguardprom.New(reg)
	if err != nil {
		return err
	}
	kit.SMSGuard = &smsguard.Guard{Counter: kit.Counter, Observer: guardMetrics}
	for _, ch := range []message.Channel{message.ChannelEmail, message.ChannelSMS, message.ChannelVoice} {
		for _, rc := range cfg.Realms {
			if provs.canSend(rc.ID, ch) {
				kit.Channels[code.Channel(ch)] = true
			}
		}
	}
	kit.Networks = db
	kit.Reports = db
	kit.ChannelDown = a.dispatcher.ChannelDown
	kit.TwoStep = &twostep.Service{Tx: db, Clock: o.Clock, Random: o.Random, Store: db, Backup: db, Events: events,
		Box: box, Hasher: hasher, Guard: kit.Codes.Guard, Alert: authflow.TwoStepAlerter{Kit: kit},
		Phone: &twostep.Phone{Codes: kit.Codes, Flows: db, Outbox: outbox, Channels: kit.Channels,
			Counter: &throttle.Counter{Store: db, Clock: o.Clock}, SMSGuard: kit.SMSGuard},
		Passkeys: passkey.RelyingParty{}}
	kit.Trust = &trust.Service{Tx: db, Clock: o.Clock, Random: o.Random, Store: db, Events: events}
	kit.TwoStep.TurnedOff = func(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID string) error {
		return kit.ForgetTrusted(ctx, rl, req, accountID, trust.ReasonTwoStepOff)
	}
	kit.Resets = db // a new password meets a reset staff required
	a.kit = kit
	captchas := &captcha.Service{Store: db, Box: box, Clock: o.Clock, Random: o.Random, Observer: eventMetrics}
	counter := &throttle.Counter{Store: db, Clock: o.Clock}
	gate := &startgate.Gate{Counter: counter, Captcha: captchas, Limits: startgate.DefaultLimits()}
	signupSvc := &signup.Service{Kit: kit, Realms: realms, Gate: gate}
	signinSvc := signin.NewService(kit, realms)
	signinSvc.Gate = gate
	// Revocations reach the other instances' session caches at once
	// (PostgreSQL; SessionCacheTTL is the floor), and theirs this one's.
	signinSvc.Invalidate = loggedPublisher{Publisher: db, logger: a.Logger}
	a.Notices.Subscribe(invalidate.Sessions, signinSvc.DropCached)
	a.Notices.Subscribe(invalidate.Realms, func(string) {
		select {
		case a.realmNudge <- struct{}{}:
		default: // a reload is due already
		}
	})
	signinSvc.Holds = db // suspensions and resets required by staff
	signinSvc.Protect = &signin.Protection{
		Policy:   risk.DefaultPolicy(),
		Counter:  counter,
		Checks:   db,
		Locks:    db,
		Networks: db,
		Captcha:  captchas,
	}
	unlockSvc := &unlock.Service{Kit: kit, Realms: realms, Locks: db, Gate: gate, Forget: signinSvc.ForgetAccount}
	resetSvc := &reset.Service{Kit: kit, Realms: realms, Locks: db, Gate: gate, Forget: signinSvc.ForgetAccount}
	budget := &changebudget.Budget{Counter: counter}
	sessionsSvc := &sessions.Service{Tx: db, Clock: o.Clock, Random: o.Random, Store: db, Events: events,
		Policy: kit.Sessions.Policy, Forget: signinSvc.ForgetAccount, Secure: unlockSvc, HistoryWindow: signin.HistoryWindow}
	a.Orgs = &org.Service{Store: db, Accounts: db, Tx: db, Events: events, Outbox: kit.Outbox, Hasher: hasher,
		Clock: o.Clock, Random: o.Random, CleanName: signup.CleanName, Realms: realms,
		Invalidate: loggedPublisher{Publisher: db, logger: a.Logger}}
	a.Notices.Subscribe(invalidate.Orgs, a.Orgs.DropCached)
	// The organisations' sign-in policy: required 2SV and allowed methods
	// (authflow/orgpolicy.go, twostep/required.go).
	kit.Members = a.Orgs
	kit.TwoStep.MemberRequires = func(ctx context.Context, realm, accountID string) (bool, error) {
		p, err := a.Orgs.PolicyFor(ctx, realm, accountID)
		return p.RequireTwoStep, err
	}
	a.closure = &closure.Service{Kit: kit, Realms: realms, Store: db, Signin: signinSvc,
		// A purged account leaves its organisations (an heir owner, or
		// the organisation deleted) in the purge's transaction.
		OnPurge: func(ctx context.Context, acc *account.Account) error {
			return a.Orgs.ForgetAccount(ctx, acc.Realm, acc.ID, acc.Email)
		}}
	signinSvc.Closure = a.closure
	resetSvc.Closure = a.closure
	reauthSvc := &reauth.Service{Kit: kit, Realms: realms, Signin: signinSvc, Guard: kit.Codes.Guard, Starts: counter}
	profileSvc := &profile.Service{Kit: kit, Signin: signinSvc, TwoStep: kit.TwoStep, Guard: kit.Codes.Guard, Held: db,
		Budget: budget, Changes: db}
	contactSvc := &contact.Service{Kit: kit, Realms: realms, Signin: signinSvc, Store: db, Unlock: unlockSvc, Starts: counter}
	a.contact = contactSvc
	// "This wasn't me" rolls back contact changes first (unlock cannot
	// import contact, which imports unlock).
	unlockSvc.Rollback = contactSvc.RollbackSince
	gate.Limits[flow.KindHelp] = help.StartLimits
	a.help = &help.Service{Kit: kit, Realms: realms, Store: db, Gate: gate, Counter: counter}
	recoverySvc := &recovery.Service{Kit: kit, Realms: realms, Signin: signinSvc, Gate: gate, Store: db, Documents: db,
		Box: box, Forget: signinSvc.ForgetAccount}
	a.recovery = recoverySvc
	// The overdue cases of both support queues, read at scrape.
	if _, err := caseprom.New(reg, caseprom.HelpRequests, a.help.OverdueCount, o.Clock); err != nil {
		return err
	}
	if _, err := caseprom.New(reg, caseprom.RecoveryCases, recoverySvc.OverdueCount, o.Clock); err != nil {
		return err
	}
	engine := &flow.Engine{Store: db, Clock: o.Clock, Binder: kit.Binder, Handlers: map[flow.Kind]flow.Handler{
		flow.KindSignup:   signupSvc,
		flow.KindSignin:   signinSvc,
		flow.KindUnlock:   unlockSvc,
		flow.KindReset:    resetSvc,
		flow.KindReauth:   reauthSvc,
		flow.KindContact:  contactSvc,
		flow.KindHelp:     a.help,
		flow.KindRecovery: recoverySvc,
	}, Annotate: authflow.Deliveries{Kit: kit, Reports: db, Realms: realms}}
	proxies, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return err
	}
	secure := false
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Scheme == "https" {
		secure = true
	}
	a.Staff = &staff.Service{Tx: db, Clock: o.Clock, Random: o.Random, Store: db, Sessions: db, Events: events,
		Hasher: hasher, Box: box, Passwords: passwords, Policy: password.DefaultPolicy(), Counter: counter,
		RelyingParty: passkey.RelyingParty{}, PasskeyStore: db}
	// Reviewers decide recovery cases in the console; the cases are found
	// by their R-… reference and shown in their account's timeline.
	reviewSvc := &review.Service{Recovery: recoverySvc}
	deskSvc := &desk.Service{Kit: kit, Realms: realms, Locks: db, Suspensions: db, Resets: db, Lookup: db,
		Forget: signinSvc.ForgetAccount, Sources: []desk.Source{a.help, reviewSvc}, Finders: []desk.Finder{a.help, reviewSvc}}
	a.Clients = &oauthclient.Service{Store: db, Tx: db, Events: events, Hasher: hasher, Clock: o.Clock, Random: o.Random,
		KnownRealm: func(id string) bool { return realms.ByID(id) != nil }}
	consoleH, err := console.New(console.Deps{Staff: a.Staff, Desk: deskSvc, Realms: realms, Clients: a.Clients,
		ClientIP: &clientip.Resolver{Trusted: proxies}, SecureCookies: secure || httpsPublicURL(cfg),
		Help: a.help, Review: reviewSvc, Now: o.Clock.Now, LinkBase: staffBaseURL(cfg),
		RealmSettings: a.RealmSettings, RealmsChanged: a.RefreshRealms,
		Orgs: a.Orgs, OrgReader: db,
		Overdue: []console.OverdueCounter{
			{Name: "help", Href: console.Path + "/help", Perm: staff.PermHelpRequests, Count: a.help.OverdueCount},
			{Name: "recovery", Href: console.Path + "/recovery", Perm: staff.PermRecoveryDecisions, Count: reviewSvc.OverdueCount},
		}})
	if err != nil {
		return err
	}
	a.Realms = realms
	a.SigningKeys = &signingkey.Service{Store: db, Tx: db, Events: events, Box: box, Clock: o.Clock, Random: o.Random}
	a.Grants = &grant.Service{Store: db, Owners: db, Tx: db, Events: events, Hasher: hasher, Clock: o.Clock, Random: o.Random,
		Starts: counter}
	a.Consents = &consent.Service{Store: db, Tokens: a.Grants, Tx: db, Events: events, Clock: o.Clock, Random: o.Random}
	// A deleted client's tokens die with it (in the same transaction).
	a.Clients.OnDelete = func(ctx context.Context, realm, id string) error {
		_, err := a.Grants.RevokeAllOfClient(ctx, realm, id)
		return err
	}
	a.Backchannel = &oidc.Backchannel{Store: db, Tx: db, Events: events, Clients: a.Clients, Keys: a.SigningKeys,
		Realms: realms, Hasher: hasher, Clock: o.Clock, Random: o.Random, Logger: a.Logger}
	deps := server.Deps{
		Realms: realms, Flows: engine, Signup: signupSvc, Signin: signinSvc,
		DevInbox: inbox, Hooks: provs.hooks, Captcha: captchas, Unlock: unlockSvc, Reset: resetSvc, Reauth: reauthSvc, Contact: contactSvc, Help: a.help, Recovery: recoverySvc, TwoStep: kit.TwoStep, Profile: profileSvc, Sessions: sessionsSvc, Closure: a.closure, Ready: db.Ping, Registry: reg, Logger: a.Logger,
		ClientIP: &clientip.Resolver{Trusted: proxies}, SecureCookies: secure, Dev: cfg.Dev(),
		HSTS: httpsPublicURL(cfg), RejectUnknownHosts: cfg.UnknownHosts == "not_found", HideMetrics: !cfg.MetricsOnMainListener(), MetricsToken: string(cfg.Metrics.BearerToken),
		Console: consoleH, Consents: a.Consents, Orgs: a.Orgs,
		// Forms on the pages may end at a client's redirect URI (through
		// the OpenID Connect bridge); a client registered shows within 30 s.
		FormSources: (&oauthclient.SourceCache{Clients: a.Clients, Clock: o.Clock, TTL: 30 * time.Second}).Sources,
		OIDC: &oidc.Handler{Realms: realms, Keys: a.SigningKeys, Now: o.Clock.Now, Clients: a.Clients, Accounts: db,
			Grants: a.Grants, Consents: a.Consents, Organisations: a.Orgs, Sessions: db, Box: box, Hasher: hasher, Signin: signinSvc, TwoStep: kit.TwoStep,
			ClientIP: &clientip.Resolver{Trusted: proxies}, SecureCookies: secure},
	}
	if a.Handler, err = server.New(deps); err != nil {
		return err
	}
	if cfg.Metrics.Addr != "" {
		a.metricsHandler = server.NewMetrics(deps)
	}
	return nil
}

// loggedPublisher logs the notices it could not send: the change stands,
// and the other instances see it within their caches' lifetime.
type loggedPublisher struct {
	invalidate.Publisher
	logger *slog.Logger
}

func (p loggedPublisher) Publish(ctx context.Context, kind invalidate.Kind, key string) error {
	err := p.Publisher.Publish(ctx, kind, key)
	if err != nil {
		p.logger.Warn("invalidation notice not sent; other instances see the change within their cache lifetime",
			"kind", string(kind), "err", err)
	}
	return err
}

// notifyingSender calls notify with every message its Sender accepted.
type notifyingSender struct {
	message.Sender
	notify func(*message.Outgoing)
}

func (s *notifyingSender) Send(ctx context.Context, m *message.Outgoing) (string, error) {
	id, err := s.Sender.Send(ctx, m)
	if err == nil {
		s.notify(m)
	}
	return id, err
}

// httpsPublicURL reports whether a public URL (the global one or a realm's)
// is https: then every response carries Strict-Transport-Security.
func httpsPublicURL(cfg config.Config) bool {
	urls := []string{cfg.PublicURL}
	for _, r := range cfg.Realms {
		urls = append(urls, r.PublicURL)
	}
	for _, u := range urls {
		if p, err := url.Parse(u); err == nil && p.Scheme == "https" {
			return true
		}
	}
	return false
}

// Start listens on the configured address (and on metrics.addr when set) and
// serves in the background, with the outbox dispatcher and the clean-up of
// expired sign-ups and flows.
func (a *App) Start() error {
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return err
	}
	var mln net.Listener
	if a.metricsHandler != nil {
		if mln, err = net.Listen("tcp", a.Config.Metrics.Addr); err != nil {
			ln.Close()
			return fmt.Errorf("metrics.addr: %w", err)
		}
	}
	a.ln = ln
	a.srv = a.httpServer(a.Handler)
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.wg.Add(5)
	go func() {
		defer a.wg.Done()
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Logger.Error("http server stopped", "err", err)
		}
	}()
	go func() {
		defer a.wg.Done()
		a.dispatcher.Run(ctx)
	}()
	go func() {
		defer a.wg.Done()
		a.cleanLoop(ctx)
	}()
	go func() {
		defer a.wg.Done()
		a.Backchannel.Run(ctx)
	}()
	go func() {
		defer a.wg.Done()
		a.watchRealms(ctx)
	}()
	if a.listener != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.listener.Run(ctx)
		}()
	}
	a.Logger.Info("listening", "addr", ln.Addr().String())
	switch {
	case mln != nil:
		a.metricsLn = mln
		a.metricsSrv = a.httpServer(a.metricsHandler)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.metricsSrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.Logger.Error("metrics server stopped", "err", err)
			}
		}()
		a.Logger.Info("serving /metrics on a listener of its own", "addr", mln.Addr().String(),
			"bearer_token", a.Config.Metrics.BearerToken != "")
	case !a.Config.MetricsOnMainListener():
		a.Logger.Info("/metrics is not served: set metrics.addr or metrics.bearer_token (NINSHO_METRICS_ADDR, NINSHO_METRICS_TOKEN)")
	case a.Config.Metrics.BearerToken != "":
		a.Logger.Info("/metrics needs a bearer token")
	}
	return nil
}

// httpServer returns the server of one listener, with the time-outs and
// header limit every listener gets.
func (a *App) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
}

// URL returns the base URL the instance serves on.
func (a *App) URL() string { return listenerURL(a.ln) }

// MetricsURL returns the base URL of the metrics listener (metrics.addr), or
// "" when there is none.
func (a *App) MetricsURL() string { return listenerURL(a.metricsLn) }

func listenerURL(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	addr := ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Close stops serving (letting requests in flight finish for up to 10 s),
// stops the workers and closes the database. It is safe to call twice.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() {
		if a.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err = a.srv.Shutdown(ctx)
			if a.metricsSrv != nil {
				if merr := a.metricsSrv.Shutdown(ctx); err == nil {
					err = merr
				}
			}
			cancel()
		}
		if a.cancel != nil {
			a.cancel()
		}
		a.wg.Wait()
		// Another instance takes housekeeping over at its next tick.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if rerr := a.jobs.Release(ctx, housekeepingLease); rerr != nil {
			a.Logger.Warn("housekeeping lease not released; another instance takes over when it expires", "err", rerr)
		}
		cancel()
		a.hashThreads.Close()
		if cerr := a.DB.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// HousekeepingEvery is the period of housekeeping (App.clean), done by one
// instance per period across those sharing the database.
const HousekeepingEvery = 10 * time.Minute

// housekeepingLease is the name of housekeeping's lease (lease.Jobs).
const housekeepingLease = "housekeeping"

// cleanLoop runs housekeeping every HousekeepingEvery: unconfirmed sign-ups
// past their lifetime, expired flows, throttle buckets, CAPTCHA challenges
// and what retention no longer keeps.
func (a *App) cleanLoop(ctx context.Context) {
	t := time.NewTicker(HousekeepingEvery)
	defer t.Stop()
	for {
		a.housekeep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// housekeep runs the housekeeping pass when this instance holds the
// period's lease, and reports whether it did: one instance per period does
// the pass, the others skip it; the holder keeps the job while it runs, and
// another takes it over within a period after it stops.
func (a *App) housekeep(ctx context.Context) bool {
	mine, err := a.jobs.Take(ctx, housekeepingLease, HousekeepingEvery)
	if err != nil {
		if ctx.Err() == nil {
			a.Logger.Error("housekeeping: take the lease; this period's pass is skipped", "err", err)
		}
		return false
	}
	if !mine {
		a.Logger.Debug("housekeeping: another instance does this period's pass")
		return false
	}
	a.clean(ctx)
	return true
}

// clean is one housekeeping pass: unconfirmed sign-ups past their lifetime,
// expired flows, throttle buckets and CAPTCHA challenges, then what the
// retention policy no longer keeps, in bounded batches (retention.Purger).
func (a *App) clean(ctx context.Context) {
	now := a.kit.Clock.Now()
	if n, err := a.DB.PurgePendingAccounts(ctx, now.Add(-account.PendingLifetime)); err != nil {
		a.Logger.Error("purge pending accounts", "err", err)
	} else if n > 0 {
		a.Logger.Info("purged unconfirmed sign-ups", "count", n)
	}
	if _, err := a.DB.DeleteExpiredFlows(ctx, now.Add(-24*time.Hour)); err != nil {
		a.Logger.Error("delete expired flows", "err", err)
	}
	if _, err := a.DB.DeleteExpiredBuckets(ctx, now); err != nil {
		a.Logger.Error("delete expired throttle buckets", "err", err)
	}
	if _, err := a.DB.DeleteExpiredChallenges(ctx, now); err != nil {
		a.Logger.Error("delete expired captcha challenges", "err", err)
	}
	// Leases whose holder stopped (password checks of an instance that
	// stopped mid-check).
	if _, err := a.DB.DeleteEndedLeases(ctx, now); err != nil {
		a.Logger.Error("delete ended leases", "err", err)
	}
	// Wrong-code counts idle for a month go (a pause has long ended by
	// then); a count at the consecutive maximum stays until a right code.
	if _, err := a.DB.DeleteIdleCodeGuards(ctx, now.Add(-30*24*time.Hour)); err != nil {
		a.Logger.Error("delete idle code guards", "err", err)
	}
	// Expired trust skips nothing; its rows go in bounded batches.
	if _, err := a.kit.Trust.Purge(ctx); err != nil && ctx.Err() == nil {
		a.Logger.Error("purge trusted devices", "err", err)
	}
	// Accounts closed longer than their realm's grace: the purge alert,
	// then their personal data goes (bounded: closure.DefaultBatchSize per
	// realm and pass).
	if n, err := a.closure.Purge(ctx); err != nil && ctx.Err() == nil {
		a.Logger.Error("purge closed accounts", "err", err)
	} else if n > 0 {
		a.Logger.Info("purged closed accounts", "count", n)
	}
	if _, err := a.DB.DeleteExpiredStaffSessions(ctx, now); err != nil {
		a.Logger.Error("delete expired staff sessions", "err", err)
	}
	// Contact changes whose undo link expired, in bounded batches.
	if _, err := a.contact.Purge(ctx); err != nil && ctx.Err() == nil {
		a.Logger.Error("purge contact changes", "err", err)
	}
	// Help requests closed longer than their retention, with their
	// answers, in bounded batches.
	if _, err := a.help.Purge(ctx); err != nil && ctx.Err() == nil {
		a.Logger.Error("purge help requests", "err", err)
	}
	// Organisation invitations 30 days after they ended, in bounded batches.
	if _, err := a.Orgs.Purge(ctx); err != nil && ctx.Err() == nil {
		a.Logger.Error("purge organisation invitations", "err", err)
	}
	// Recovery documents 30 days after their case's decision, and drafts
	// whose flow ended, in bounded batches; the case rows stay.
	if n, err := a.recovery.Purge(ctx, now); err != nil && ctx.Err() == nil {
		a.Logger.Error("purge recovery documents", "err", err)
	} else if n > 0 {
		a.Logger.Info("purged recovery documents", "count", n)
	}
	// Signing keys past retire_after (out of every JWKS already).
	if n, err := a.SigningKeys.Purge(ctx, now); err != nil && ctx.Err() == nil {
		a.Logger.Error("purge signing keys", "err", err)
	} else if n > 0 {
		a.Logger.Info("purged retired signing keys", "count", n)
	}
	// OpenID Connect codes and tokens a day past their expiry.
	if _, err := a.Grants.Purge(ctx, 5000); err != nil && ctx.Err() == nil {
		a.Logger.Error("purge oidc grants", "err", err)
	}
	// Last, so that the devices of the flows deleted above can go too.
	purger := &retention.Purger{Store: a.DB, Policy: a.Config.Retention.Policy()}
	rep, err := purger.Run(ctx, now)
	if err != nil && ctx.Err() == nil {
		a.Logger.Error("retention purge", "err", err)
	}
	took := ninsho.DurationMS(a.kit.Clock.Now().Sub(now))
	if rep.Total() > 0 || len(rep.Backlog) > 0 {
		a.Logger.Info("purged old records",
			"sessions", rep.Deleted[retention.Sessions], "codes", rep.Deleted[retention.Codes],
			"messages", rep.Deleted[retention.Messages], "events", rep.Deleted[retention.Events],
			"devices", rep.Deleted[retention.Devices], "backlog", rep.Backlog, took)
	} else {
		a.Logger.Debug("housekeeping pass", took)
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// buildRealms builds the realm registry of cfg.Realms (realmset.Build);
// without sms (no provider sends text messages) a realm takes e-mail
// addresses only.
func buildRealms(cfg config.Config, provs *providers) (*realm.Registry, error) {
	return realm.NewRegistry(realmset.Build(cfg, func(id string) bool { return !provs.canSend(id, message.ChannelSMS) })), nil
}

// messageLooks gives the dispatcher each realm's brand and message templates:
// the built-in ones, or its theme's (<theme>/messages/), loaded and checked
// now so that a broken template refuses the start, naming its file and line.
// A theme is read at start only (realmset.Fixed); the brand is the realm's
// as the registry holds it when the message goes out, so a realm changed at
// run time sends with its new name and colours.
func messageLooks(realms *realm.Registry, builtin *message.Templates) (func(string) message.Look, error) {
	themed := map[string]*message.Templates{}
	for _, rl := range realms.All() {
		if rl == nil || rl.ThemeDir == "" {
			continue
		}
		t, err := message.LoadTheme(rl.ThemeDir)
		if err != nil {
			return nil, fmt.Errorf("realm %s: %w", rl.ID, err)
		}
		if t != nil {
			themed[rl.ID] = t
		}
	}
	return func(id string) message.Look {
		l := message.Look{Templates: builtin}
		if t := themed[id]; t != nil {
			l.Templates = t
		}
		if rl := realms.ByID(id); rl != nil {
			l.Brand = messageBrand(rl)
		}
		return l
	}, nil
}

// messageBrand is how a realm's messages present it. A logo file is served
// by Ninsho at <base URL>/brand/logo; e-mails need an absolute URL.
func messageBrand(rl *realm.Realm) message.Brand {
	b := message.Brand{
		Name: rl.Name, LogoURL: rl.Brand.LogoURL, Color: rl.Brand.PrimaryColor,
		SupportURL: rl.Brand.SupportURL, SupportContact: rl.Brand.SupportContact,
		TermsURL: rl.Brand.TermsURL, PrivacyURL: rl.Brand.PrivacyURL,
	}
	if b.LogoURL == "" && rl.Brand.LogoFile != "" {
		b.LogoURL = strings.TrimRight(rl.BaseURL, "/") + "/brand/logo"
	}
	return b
}

// devSecrets are generated once per data directory in development mode so
// that sessions survive a restart.
type devSecrets struct {
	HashKey       string `json:"hash_key"`
	EncryptionKey string `json:"encryption_key"`
}

func loadDevSecrets(cfg *config.Config) error {
	path := filepath.Join(cfg.DataDir, "dev-secrets.json")
	var s devSecrets
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("development secrets %s: %w", path, err)
		}
		gen := func() string {
			k := make([]byte, 32)
			rand.Read(k)
			return base64.StdEncoding.EncodeToString(k)
		}
		s = devSecrets{HashKey: gen(), EncryptionKey: gen()}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return err
		}
		b, _ := json.Marshal(s)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return err
		}
	}
	if cfg.Secrets.HashKey == "" {
		cfg.Secrets.HashKey = config.Secret(s.HashKey)
	}
	if len(cfg.Secrets.EncryptionKeys) == 0 {
		cfg.Secrets.EncryptionKeys = []config.Secret{config.Secret(s.EncryptionKey)}
	}
	return nil
}
