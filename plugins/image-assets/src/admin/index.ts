export { ImageSavings } from './ImageSavings.js'
