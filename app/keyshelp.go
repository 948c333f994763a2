package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/widgets"
)

// keysHelpContent is what the Keys help shows: the keys, then the
// colours of the window and what each means (widgets.Legend).
func keysHelpContent() fyne.CanvasObject {
	colours := widget.NewLabelWithStyle("Colours", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	// The legend lines up with the labels' text, inset by their padding.
	inset := theme.InnerPadding()
	legend := container.New(layout.NewCustomPaddedLayout(0, 0, inset, inset), widgets.NewLegend())
	return container.NewVBox(widget.NewLabel(keysHelp), widget.NewSeparator(), colours, legend)
}
