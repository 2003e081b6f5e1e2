namespace hearth::reference {}
