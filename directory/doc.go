// Package directory is the attendant console's list of people: contacts
// read from an LDAP directory (OpenLDAP or Active Directory) and from files
// (CSV with a header row, vCard 3.0 and 4.0), merged into one Directory
// without duplicates and searched as the receptionist types.
//
// The last directory read from LDAP is cached on disk, so that a console
// started while the LDAP server is unreachable still shows the people it
// knew; Status says whether what is shown is fresh, stale (why, and since
// when) or missing.
//
// The package is plain Go: it knows nothing of Fyne or of SIP. The app
// turns its contacts into the directory widget's rows and presence
// subscriptions.
package directory
