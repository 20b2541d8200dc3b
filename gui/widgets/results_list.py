"""The results list: one row per piece (generated or transferred). Names are editable, the
check box keeps a result, and a row can be dragged out as a MIDI file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QUrl, Signal
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

ID_ROLE = Qt.ItemDataRole.UserRole


class ResultsList(QListWidget):
    """Rows carry a result id; ``file_for_drag(id)`` supplies the file a drag hands out."""

    selected = Signal(object)  # result id or None
    renamed = Signal(str, str)  # id, new name
    kept_changed = Signal(str, bool)
    activated_id = Signal(str)  # double click / Enter: audition

    def __init__(self, file_for_drag: Callable[[str], Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._file_for_drag = file_for_drag
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.SelectedClicked)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.currentItemChanged.connect(lambda item, _prev: self.selected.emit(self._id(item)))
        self.itemChanged.connect(self._on_item_changed)
        self.itemActivated.connect(lambda item: self.activated_id.emit(self._id(item)))

    @staticmethod
    def _id(item: QListWidgetItem | None) -> str | None:
        return None if item is None else item.data(ID_ROLE)

    def add_result(self, result_id: str, name: str, kept: bool = False, tooltip: str = "") -> None:
        """Append a row (does not select it)."""
        item = QListWidgetItem(name)
        item.setData(ID_ROLE, result_id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable
                      | Qt.ItemFlag.ItemIsDragEnabled)
        item.setCheckState(Qt.CheckState.Checked if kept else Qt.CheckState.Unchecked)
        item.setToolTip(tooltip)
        self.blockSignals(True)
        self.addItem(item)
        self.blockSignals(False)

    def item_for(self, result_id: str) -> QListWidgetItem | None:
        """The row showing a result."""
        for row in range(self.count()):
            if self.item(row).data(ID_ROLE) == result_id:
                return self.item(row)
        return None

    def ids(self) -> list[str]:
        """Result ids in display order."""
        return [self.item(row).data(ID_ROLE) for row in range(self.count())]

    def selected_ids(self) -> list[str]:
        """Ids of the selected rows (the current row if none is selected)."""
        ids = [item.data(ID_ROLE) for item in self.selectedItems()]
        current = self._id(self.currentItem())
        return ids or ([current] if current else [])

    def select(self, result_id: str) -> None:
        """Make a result the current row."""
        item = self.item_for(result_id)
        if item is not None:
            self.setCurrentItem(item)

    def remove(self, result_id: str) -> None:
        """Delete a row."""
        item = self.item_for(result_id)
        if item is not None:
            self.takeItem(self.row(item))

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        result_id = self._id(item)
        self.renamed.emit(result_id, item.text())
        self.kept_changed.emit(result_id, item.checkState() == Qt.CheckState.Checked)

    def mimeTypes(self) -> list[str]:  # noqa: N802 (Qt override)
        """Drags carry file URLs."""
        return ["text/uri-list"]

    def mimeData(self, items: list[QListWidgetItem]) -> QMimeData:  # noqa: N802 (Qt override)
        """Hand out each dragged result as a temporary .mid file named after the result."""
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(str(self._file_for_drag(self._id(item)))) for item in items])
        return data
