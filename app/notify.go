package app

import (
	"context"
	"time"

	"github.com/switchboard/switchboard/calllog"
	"github.com/switchboard/switchboard/telephony"
)

// NoticeAction is a button a desktop notification offers.
type NoticeAction string

// The notifications' actions.
const (
	// NoticeAnswer answers the ringing call the notification is about.
	NoticeAnswer NoticeAction = "answer"
	// NoticeCallBack calls back the caller who gave up.
	NoticeCallBack NoticeAction = "call-back"
)

// Label is the action's button text.
func (a NoticeAction) Label() string {
	switch a {
	case NoticeAnswer:
		return "Answer"
	case NoticeCallBack:
		return "Call back"
	}
	return string(a)
}

// Notice is one desktop notification.
type Notice struct {
	// Title is the notification's summary; Body the line under it.
	Title, Body string
	// Actions are the buttons offered where the desktop shows them.
	Actions []NoticeAction
	// Urgent asks the desktop to keep it until it is withdrawn.
	Urgent bool
}

// Notifier shows the console's desktop notifications with actions and
// withdraws them (cmd/attendant adapts internal/notify, the
// freedesktop.org service on D-Bus). Its methods may block on the
// desktop: the console calls them off Fyne's goroutine.
type Notifier interface {
	// Notify shows n and returns its id; onAction is called, on any
	// goroutine, when the receptionist chooses one of n's actions.
	Notify(ctx context.Context, n Notice, onAction func(NoticeAction)) (id uint32, err error)
	// Withdraw takes notification id away; one already gone is no error.
	Withdraw(ctx context.Context, id uint32) error
}

// noticeTimeout bounds one call to the desktop's notification service.
const noticeTimeout = 5 * time.Second

// notice is a notification shown (or on its way) for a call.
type notice struct {
	id   uint32 // 0 until the desktop gave one
	gone bool   // withdrawn (or to be withdrawn as soon as it has an id)
}

// notifyCall tells the receptionist about the ringing call id: with
// Options.Notifier a notification with Answer that is withdrawn when the
// call stops ringing (answered here or elsewhere, abandoned, declined);
// without, Fyne's plain notification.
func (c *Console) notifyCall(id telephony.CallID, title, text string) {
	if c.opts.Notifier == nil {
		c.notify(title, text)
		return
	}
	if c.notices == nil {
		c.notices = map[telephony.CallID]*notice{}
	}
	if c.notices[id] != nil {
		return
	}
	nt := &notice{}
	c.notices[id] = nt
	c.lastNote = title + ": " + text
	n := Notice{Title: title, Body: text, Actions: []NoticeAction{NoticeAnswer}, Urgent: true}
	c.show(n, func(a NoticeAction) {
		if a == NoticeAnswer {
			c.answerFromNotice(id)
		}
	}, func(nid uint32) {
		nt.id = nid
		if nt.gone {
			c.withdraw(nid)
		}
	})
}

// answerFromNotice answers call id from its notification, if it still
// rings: the notification may be clicked after the call stopped.
func (c *Console) answerFromNotice(id telephony.CallID) {
	l := c.lines[id]
	if l == nil || l.call.State != telephony.StateRinging {
		return
	}
	c.answer(id)
}

// noticeCallChanged withdraws the notification of a call that no longer
// rings (callChanged calls it, for events and resynchronisations alike).
func (c *Console) noticeCallChanged(call telephony.Call) {
	if call.State != telephony.StateRinging {
		c.noticeGone(call.ID)
	}
}

// noticeGone withdraws call id's notification, if it has one: the call
// stopped ringing or left the window.
func (c *Console) noticeGone(id telephony.CallID) {
	nt := c.notices[id]
	if nt == nil {
		return
	}
	delete(c.notices, id)
	nt.gone = true
	if nt.id != 0 {
		c.withdraw(nt.id)
	}
}

// notifyGaveUp tells the receptionist who parked a caller that the
// caller gave up waiting (e is the call's entry in the log), with Call
// back.
func (c *Console) notifyGaveUp(e calllog.Entry) {
	title, text, uri := "Caller gave up", entryText(e), e.URI
	if c.opts.Notifier == nil {
		c.notify(title, text)
		return
	}
	c.lastNote = title + ": " + text
	c.show(Notice{Title: title, Body: text, Actions: []NoticeAction{NoticeCallBack}}, func(a NoticeAction) {
		if a == NoticeCallBack {
			c.calledBack(uri)
			c.callBack(uri)
			c.changed()
		}
	}, nil)
}

// show sends n away from Fyne's goroutine; onAction and shown (with the
// desktop's id) run on Fyne's goroutine.
func (c *Console) show(n Notice, onAction func(NoticeAction), shown func(id uint32)) {
	nf := c.opts.Notifier
	c.spawn(func() {
		ctx, cancel := context.WithTimeout(c.ctx, noticeTimeout)
		defer cancel()
		id, err := nf.Notify(ctx, n, func(a NoticeAction) { c.do(func() { onAction(a) }) })
		if err != nil {
			c.log.Debug("desktop notification", "title", n.Title, "err", err)
			return
		}
		if shown != nil {
			c.do(func() { shown(id) })
		}
	})
}

// withdraw takes notification id away, off Fyne's goroutine.
func (c *Console) withdraw(id uint32) {
	nf := c.opts.Notifier
	c.spawn(func() {
		ctx, cancel := context.WithTimeout(c.ctx, noticeTimeout)
		defer cancel()
		if err := nf.Withdraw(ctx, id); err != nil {
			c.log.Debug("withdraw desktop notification", "id", id, "err", err)
		}
	})
}
