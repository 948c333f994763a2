package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/widgets"
)

// peopleKeysHelp is the Keys help's part on the People pane, shown when
// the window has one.
const peopleKeysHelp = `/ — search the People pane (Esc clears the search)
Up, Down — choose a person; Enter — call them, or transfer your call to them
Shift+Enter — hold your caller and call the person first: Complete or Cancel
Drag a call onto a person to transfer it (Shift held at the drop: call them first, as Shift+Enter).`

// keysHelpContent is what the Keys help shows: the keys (those of the
// People pane when people is set), then the colours of the window and
// what each means (widgets.Legend).
func keysHelpContent(people bool) fyne.CanvasObject {
	colours := widget.NewLabelWithStyle("Colours", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	// The legend lines up with the labels' text, inset by their padding.
	inset := theme.InnerPadding()
	legend := container.New(layout.NewCustomPaddedLayout(0, 0, inset, inset), widgets.NewLegend())
	objs := []fyne.CanvasObject{widget.NewLabel(keysHelp)}
	if people {
		objs = append(objs, widget.NewLabel(peopleKeysHelp))
	}
	return container.NewVBox(append(objs, widget.NewSeparator(), colours, legend)...)
}
